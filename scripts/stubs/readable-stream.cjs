// Stand-in for readable-stream v4 (mqtt's, mqtt-packet's and bl's copies) in the agent bundle:
// that package is a copy of Node's own streams for browsers and old Nodes, and the bundle held two of
// it. This is its own `READABLE_STREAM=disable` branch (lib/ours/index.js): Node's stream module, with
// the names readable-stream exports.
'use strict';
const Stream = require('node:stream');
module.exports = {
  _uint8ArrayToBuffer: Stream._uint8ArrayToBuffer,
  _isUint8Array: Stream._isUint8Array,
  isDisturbed: Stream.isDisturbed,
  isErrored: Stream.isErrored,
  isReadable: Stream.isReadable,
  Readable: Stream.Readable,
  Writable: Stream.Writable,
  Duplex: Stream.Duplex,
  Transform: Stream.Transform,
  PassThrough: Stream.PassThrough,
  addAbortSignal: Stream.addAbortSignal,
  finished: Stream.finished,
  destroy: Stream.destroy,
  pipeline: Stream.pipeline,
  compose: Stream.compose,
  promises: Stream.promises,
  Stream: Stream.Stream,
};
module.exports.default = module.exports;
