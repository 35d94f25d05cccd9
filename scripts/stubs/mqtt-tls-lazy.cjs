// mqtt.js's mqtts:// transport (lib/connect/tls.js), loaded when an mqtts:// connection is first made.
// mqtt.js registers all its transports on its first connect, and tls.js requires Node's tls at load:
// an agent on plain mqtt:// kept TLS's modules (~1 MB resident) without ever using them.
'use strict';
Object.defineProperty(exports, '__esModule', { value: true });
let transport;
exports.default = (client, opts) => {
  transport ??= require('mqtt/lib/connect/tls').default;
  return transport(client, opts);
};
