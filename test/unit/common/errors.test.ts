import test from 'ava';
import { errnoCode, errorMessage, errorStack, toError } from '../../../src/common/errors.js';

/** What a `catch` receives when `value` is thrown. */
function caught(value: unknown): unknown {
  try {
    throw value;
  } catch (err) {
    return err;
  }
}

test('errorMessage reads an Error, and any other thrown value, without printing undefined', (t) => {
  t.is(errorMessage(caught(new RangeError('out of range'))), 'out of range');
  t.is(errorMessage(caught('plain text')), 'plain text');
  t.is(errorMessage(caught({ message: 'from a library', code: 7 })), 'from a library');
  t.is(errorMessage(caught(null)), 'null');
  t.is(errorMessage(caught(undefined)), 'undefined');
  t.is(errorMessage(caught(42)), '42');
  t.is(errorMessage(caught({ message: 3 })), '[object Object]');
});

test('errorStack gives the stack of an Error and the text of anything else', (t) => {
  const err = new Error('boom');
  t.is(errorStack(caught(err)), err.stack ?? 'no stack on this engine');
  const stackless = new Error('no stack');
  delete stackless.stack;
  t.is(errorStack(stackless), 'no stack');
  t.is(errorStack(caught(null)), 'null');
  t.is(errorStack(caught(5)), '5');
});

test('errnoCode reads a string code and nothing else', (t) => {
  t.is(errnoCode(Object.assign(new Error('gone'), { code: 'ENOENT' })), 'ENOENT');
  t.is(errnoCode({ code: 'EACCES' }), 'EACCES');
  t.is(errnoCode({ code: 404 }), undefined);
  t.is(errnoCode(new Error('no code')), undefined);
  t.is(errnoCode(null), undefined);
  t.is(errnoCode('ENOENT'), undefined);
});

test('toError keeps an Error and wraps anything else with its text', (t) => {
  const err = new TypeError('bad');
  t.is(toError(caught(err)), err);
  t.is(toError(caught('text')).message, 'text');
  t.is(toError(caught(undefined)).message, 'undefined');
  t.true(toError(caught(7)) instanceof Error);
});
