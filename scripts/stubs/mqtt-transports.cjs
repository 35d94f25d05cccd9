// Stand-in for mqtt.js's WebSocket and SOCKS transports (lib/connect/ws.js, lib/connect/socks.js) and
// its browser worker timers in the agent bundle. The agent connects with mqtt:// or mqtts:// and no
// proxy; the real modules pull in ws, socks, ip-address and smart-buffer (~150 KB of code kept in memory).
'use strict';
function unavailable(what) {
  return () => {
    throw new Error(`${what} is not available in the edgepilot agent; use an mqtt:// or mqtts:// broker URL without a SOCKS proxy`);
  };
}
module.exports = {
  // ./ws
  streamBuilder: unavailable('MQTT over WebSocket'),
  browserStreamBuilder: unavailable('MQTT over WebSocket'),
  // ./socks
  default: unavailable('MQTT through a SOCKS proxy'),
  // worker-timers (mqtt's timerVariant 'worker', for browsers)
  setInterval: unavailable("mqtt's worker timers"),
  clearInterval: unavailable("mqtt's worker timers"),
};
Object.defineProperty(module.exports, '__esModule', { value: true });
