import test from 'ava';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CoalescingWriter, writeFileDurably } from '../../../src/common/durable-file.js';
import { makeTempDir } from '../../support/paths.js';

test('a durable write replaces the file and leaves no temp files behind', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const path = join(dir.path, 'state.json');
  await writeFileDurably(path, 'one');
  await writeFileDurably(path, 'two');
  t.is(await readFile(path, 'utf8'), 'two');
  t.deepEqual(await readdir(dir.path), ['state.json']);
});

test('a failed write leaves the old contents in place', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const path = join(dir.path, 'state.json');
  await writeFileDurably(path, 'old');
  await t.throwsAsync(writeFileDurably(join(dir.path, 'missing-folder', 'x.json'), 'new'));
  t.is(await readFile(path, 'utf8'), 'old');
});

test('bursts of writes coalesce, and every caller resolves after a write that includes its change', async (t) => {
  let value = 0;
  const written: number[] = [];
  let release: (() => void) | undefined;
  const writer = new CoalescingWriter(async () => {
    const snapshot = value;
    await new Promise<void>((resolve) => (release = resolve));
    written.push(snapshot);
  });
  value = 1;
  const first = writer.write();
  await new Promise((r) => setImmediate(r)); // the first write has taken its snapshot
  const waits: Promise<void>[] = [];
  for (let i = 2; i <= 10; i++) {
    value = i;
    waits.push(writer.write());
  }
  release?.();
  await first;
  await new Promise((r) => setImmediate(r));
  release?.();
  await Promise.all(waits);
  t.deepEqual(written, [1, 10], 'ten changes cost two writes, the second with the latest value');
});

test('a failing write rejects its waiters', async (t) => {
  const writer = new CoalescingWriter(async () => {
    throw new Error('disk full');
  });
  await t.throwsAsync(writer.write(), { message: 'disk full' });
});

/** Resolves to 'stalled' if `work` has not settled within `ms` (a hang detector, not a speed test). */
const settlesWithin = (work: Promise<void>, ms: number): Promise<'settled' | 'stalled'> =>
  Promise.race([work.then(() => 'settled' as const), new Promise<'stalled'>((r) => setTimeout(() => r('stalled'), ms).unref())]);

test.serial('a wall clock stepped back by hours does not hold the next write back (NTP steps on a board)', async (t) => {
  const realNow = Date.now;
  t.teardown(() => {
    Date.now = realNow;
  });
  let writes = 0;
  const writer = new CoalescingWriter(
    async () => {
      writes += 1;
    },
    50,
  );
  await writer.write();
  const steppedTo = realNow() - 6 * 3600_000;
  Date.now = () => steppedTo;
  t.is(await settlesWithin(writer.write(), 5_000), 'settled', 'the write after the step waited for the clock to catch up');
  t.is(writes, 2);
});

test('whatever an injected clock does, a write waits at most one interval', async (t) => {
  let clock = 1_000_000;
  const writer = new CoalescingWriter(async () => undefined, 50, 1, () => clock);
  await writer.write();
  clock -= 6 * 3600_000;
  t.is(await settlesWithin(writer.write(), 5_000), 'settled');
});
