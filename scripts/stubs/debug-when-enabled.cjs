// debug (the logging of mqtt.js and mqtt-packet) in the agent bundle: the real module only when the
// DEBUG environment variable is set, as debug itself only prints then. Loaded, it loads Node's tty
// and supports-color for good: ~0.25 MB of resident memory in every agent for lines that are off.
// `DEBUG=mqttjs* edgepilot agent …` still prints them (the real module is bundled, just not run).
'use strict';
if (process.env.DEBUG) {
  module.exports = require('debug');
} else {
  const silent = (namespace) => {
    const log = () => {};
    log.namespace = namespace;
    log.enabled = false;
    log.color = 0;
    log.log = () => {};
    log.extend = (sub, delimiter = ':') => silent(`${namespace}${delimiter}${sub}`);
    log.destroy = () => true;
    return log;
  };
  const createDebug = (namespace) => silent(namespace);
  Object.assign(createDebug, {
    debug: createDebug,
    default: createDebug,
    coerce: (value) => (value instanceof Error ? value.stack || value.message : value),
    enable: () => {},
    disable: () => '',
    enabled: () => false,
    destroy: () => {},
    names: [],
    skips: [],
    formatters: {},
    selectColor: () => 0,
  });
  module.exports = createDebug;
}
