// Stand-in for ssh2 in the agent bundle. docker-modem requires ssh2 at load time for its
// ssh:// transport, which the agent never uses (it talks to the local Unix socket); loading
// the real module costs ~15 MB of RSS on every Docker-capable board.
'use strict';
class Client {
  constructor() {
    throw new Error('the SSH transport to Docker is not available in the edgepilot agent; use the local socket');
  }
}
module.exports = { Client };
