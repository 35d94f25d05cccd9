import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobRunRecord } from '../../../../src/protocol/index.js';
import { JobStateFile } from '../../../../src/device-agent/jobs/job-state.js';
import { batches, RunOutbox } from '../../../../src/device-agent/jobs/run-outbox.js';

const quiet = { debug: () => undefined, warn: () => undefined };
const record = (id: string, lines = 0): JobRunRecord => ({
  id,
  owner: { kind: 'CronJob', name: 'tick' },
  attempt: 1,
  finishedAt: new Date(0).toISOString(),
  output: Array.from({ length: lines }, () => 'x'.repeat(1000)),
  reason: 'completed',
});

async function folder(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ep-outbox-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('records made offline are kept on disk, survive a restart, are sent when connected and dropped only on the ack', async (t) => {
  const dir = await folder(t);
  const sent: string[][] = [];
  let connected = false;
  const first = new JobStateFile(dir, () => undefined);
  await first.load();
  const offline = new RunOutbox({ state: first, publish: async (r) => (connected ? (sent.push(r.map((x) => x.id)), true) : false), connected: () => connected, resendMs: 60_000, log: quiet });
  await offline.add([record('r1'), record('r2')]);
  await offline.flush();
  t.deepEqual(sent, [], 'nothing sent while offline');
  await first.idle();

  // The agent restarts: a new state file object reads the same folder.
  const second = new JobStateFile(dir, () => undefined);
  await second.load();
  t.deepEqual(second.snapshot.outbox.map((r) => r.id), ['r1', 'r2']);
  connected = true;
  const online = new RunOutbox({ state: second, publish: async (r) => (sent.push(r.map((x) => x.id)), true), connected: () => connected, resendMs: 60_000, log: quiet });
  await online.flush();
  t.deepEqual(sent, [['r1', 'r2']]);
  t.is(second.snapshot.outbox.length, 2, 'a PUBACK is not the ack: still kept');
  await online.flush();
  t.deepEqual(sent.at(-1), ['r1', 'r2'], 'resent until acknowledged');
  await online.acknowledged(['r1']);
  await online.flush();
  t.deepEqual(sent.at(-1), ['r2']);
  await online.acknowledged(['r2']);
  await second.idle();
  const third = new JobStateFile(dir, () => undefined);
  await third.load();
  t.deepEqual(third.snapshot.outbox, [], 'acknowledged records are gone from disk too');
});

test('batches stay under 50 records and the payload limit', (t) => {
  t.deepEqual(
    batches(Array.from({ length: 120 }, (_, i) => record(`r${i}`))).map((b) => b.length),
    [50, 50, 20],
  );
  const big = batches(Array.from({ length: 30 }, (_, i) => record(`b${i}`, 20)));
  t.true(big.length > 1);
  t.true(big.every((b) => Buffer.byteLength(JSON.stringify({ records: b })) < 256 * 1024));
});

test('the outbox is bounded (the oldest go first, counted); a record added twice is kept once', async (t) => {
  const dir = await folder(t);
  const state = new JobStateFile(dir, () => undefined);
  await state.load();
  await state.addRecords(Array.from({ length: 2005 }, (_, i) => record(`r${i}`)));
  await state.addRecords([record('r2004')]);
  t.is(state.snapshot.outbox.length, 2000);
  t.is(state.snapshot.outbox[0]?.id, 'r5');
  t.is(state.snapshot.dropped, 5);
});
