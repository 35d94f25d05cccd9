// Stand-in for dockerode's lib/session.js in the agent bundle. That module opens a BuildKit
// session (gRPC over a hijacked HTTP/2 connection) for buildImage, and requires @grpc/grpc-js and
// @grpc/proto-loader when dockerode loads: ~480 KB of the Docker chunk, parsed on every board's
// first container start. The agent runs images; it never builds them.
'use strict';
module.exports = function withSession(_docker, _auth, handler) {
  handler(new Error('building images (BuildKit sessions) is not available in the edgepilot agent'));
};
