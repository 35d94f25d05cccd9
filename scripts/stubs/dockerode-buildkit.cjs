// Stand-in for dockerode's lib/buildkit.js in the agent bundle: it decodes BuildKit build
// progress with protobufjs (~200 KB of the Docker chunk). Only docker.followProgress() reaches it,
// which the agent does not call (pulls follow progress through docker-modem).
'use strict';
module.exports = {
  followProgress(_stream, onFinished) {
    const err = new Error('following BuildKit progress is not available in the edgepilot agent');
    if (onFinished) onFinished(err);
    else throw err;
  },
};
