// The broker's connection cap from the process's open-files limit (src/hub/broker/connection-limit.ts).
import test from 'ava';
import { maxBrokerConnections, parseOpenFilesLimit, RESERVED_FILES } from '../../../src/hub/broker/connection-limit.js';

const limits = (soft: string, hard: string): string =>
  [
    'Limit                     Soft Limit           Hard Limit           Units     ',
    'Max cpu time              unlimited            unlimited            seconds   ',
    `Max open files            ${soft.padEnd(20)} ${hard.padEnd(20)} files     `,
    'Max locked memory         8388608              8388608              bytes     ',
  ].join('\n');

test('the soft open-files limit is read from /proc/<pid>/limits; unlimited or missing is unknown', (t) => {
  t.is(parseOpenFilesLimit(limits('20000', '20000')), 20000);
  t.is(parseOpenFilesLimit(limits('1024', '524288')), 1024);
  t.is(parseOpenFilesLimit(limits('unlimited', 'unlimited')), undefined);
  t.is(parseOpenFilesLimit(''), undefined);
  t.is(parseOpenFilesLimit('Max open files'), undefined);
});

test('the broker takes the limit less the reserve, never fewer than a few, and no cap when unknown', (t) => {
  t.is(maxBrokerConnections(20000), 20000 - RESERVED_FILES);
  t.is(maxBrokerConnections(100), 16);
  t.is(maxBrokerConnections(undefined), undefined);
});
