// lru-cache, loaded when first used, for mqtt.js in the agent bundle. mqtt.js builds an LRU cache only
// when the broker offers MQTT 5 topic aliases, but lru-cache reads the global `performance` when it is
// loaded, and that loads Node's perf_hooks (~0.5 MB of resident memory) in every agent.
'use strict';
Object.defineProperty(exports, '__esModule', { value: true });
Object.defineProperty(exports, 'LRUCache', { enumerable: true, get: () => require('lru-cache').LRUCache });
