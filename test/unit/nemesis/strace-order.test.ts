import test from 'ava';
import { checkDurableBeforeAck, parseTrace } from '../../support/nemesis/strace-order.js';

const D = '/tmp/h';
const opts = { clientPort: 5000, since: 100, target: `${D}/store.json`, folder: D };
const tmpWrite = [
  `7 100.001 openat(AT_FDCWD</>, "${D}/.store.json.ab.tmp", O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0600) = 21<${D}/.store.json.ab.tmp>`,
  `7 100.002 write(21<${D}/.store.json.ab.tmp>, "{\\"workloads\\"", 12) = 12`,
  `7 100.003 fsync(21<${D}/.store.json.ab.tmp>) = 0`,
  `8 100.004 rename("${D}/.store.json.ab.tmp", "${D}/store.json") = 0`,
];
const dirSync = [`7 100.005 openat(AT_FDCWD</>, "${D}", O_RDONLY|O_CLOEXEC) = 22<${D}>`, `7 100.006 fsync(22<${D}>) = 0`];
const ack = `1 100.010 writev(30<TCP:[127.0.0.1:7080->127.0.0.1:5000]>, [{iov_base="HTTP/1.1 200 OK\\r\\ncontent-type: "..., iov_len=180}], 1) = 200`;

test('temp file fsynced, renamed, folder fsynced, then the response: in order', (t) => {
  t.is(checkDurableBeforeAck(parseTrace([...tmpWrite, ...dirSync, ack].join('\n')), opts), undefined);
});

test('a response before the folder fsync, or without it, is caught', (t) => {
  t.is(checkDurableBeforeAck(parseTrace([...tmpWrite, ack, ...dirSync].join('\n')), opts), 'folder-not-synced');
  t.is(checkDurableBeforeAck(parseTrace([...tmpWrite, ack].join('\n')), opts), 'folder-not-synced');
});

test('a temp file renamed without its fsync, no write at all, or no response are caught', (t) => {
  const unsynced = tmpWrite.filter((l) => !l.includes('fsync'));
  t.is(checkDurableBeforeAck(parseTrace([...unsynced, ...dirSync, ack].join('\n')), opts), 'file-not-synced');
  t.is(checkDurableBeforeAck(parseTrace([ack].join('\n')), opts), 'no-durable-write');
  t.is(checkDurableBeforeAck(parseTrace([...tmpWrite, ...dirSync].join('\n')), opts), 'no-acknowledgement');
  // A write before the request was sent does not count for it.
  const early = [...tmpWrite, ...dirSync].map((l) => l.replace(' 100.00', ' 99.00'));
  t.is(checkDurableBeforeAck(parseTrace([...early, ack].join('\n')), opts), 'no-durable-write');
});

test('an interrupted fsync counts from where it completed', (t) => {
  const split = [...tmpWrite, `7 100.005 openat(AT_FDCWD</>, "${D}", O_RDONLY|O_CLOEXEC) = 22<${D}>`, `7 100.006 fsync(22<${D}> <unfinished ...>`];
  t.is(checkDurableBeforeAck(parseTrace([...split, ack, `7 100.020 <... fsync resumed>) = 0`].join('\n')), opts), 'folder-not-synced');
  t.is(checkDurableBeforeAck(parseTrace([...split, `7 100.009 <... fsync resumed>) = 0`, ack].join('\n')), opts), undefined);
});
