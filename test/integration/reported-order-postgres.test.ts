// Hubs sharing PostgreSQL write a device's reported state lazily. A hub that held a report through
// a store outage (the device moved to another hub meanwhile) writes it late: it must not replace the
// newer report the device sent through the other hub. Reports carry the device's boot id and
// CLOCK_MONOTONIC (`order`); the write keeps the newer of the two, whatever the device's wall clock says.
import test from 'ava';
import { reportIsNewer, reportedStateSchema, type ReportedState } from '../../src/protocol/index.js';
import { openPostgresStore } from '../../src/hub/store/postgres/postgres-store.js';
import { freshDatabase } from '../support/postgres.js';

const quiet = (): undefined => undefined;
const report = (monotonicMs: number | undefined, boot = 'boot-1', time = '2026-12-01T05:00:00.000Z'): ReportedState => ({
  observedGeneration: 1,
  time,
  instances: [],
  ...(monotonicMs === undefined ? {} : { order: { boot, monotonicMs } }),
});

/** `first` written by hub B, then `late` by hub A (its held write); what the store keeps. */
async function keptAfter(url: string, device: string, first: ReportedState, late: ReportedState): Promise<ReportedState | undefined> {
  const [a, b] = await Promise.all([openPostgresStore(url, { log: quiet }), openPostgresStore(url, { log: quiet })]);
  await b.deviceState.putReported(device, first);
  await b.close(); // flushes B's lazy write
  await a.deviceState.putReported(device, late);
  await a.close();
  const reader = await openPostgresStore(url, { log: quiet });
  try {
    return await reader.deviceState.reported(device);
  } finally {
    await reader.close();
  }
}

test('a late write of an older report of the same boot keeps the newer one, even when the device\'s wall clock went back', async (t) => {
  const url = await freshDatabase(t);
  // The newer report's wall time is earlier (the device's clock was stepped back): its monotonic time still orders it.
  const kept = await keptAfter(url, 'dev-1', report(2000, 'boot-1', '2026-12-01T04:00:00.000Z'), report(1000, 'boot-1', '2026-12-01T05:00:00.000Z'));
  t.is(kept?.order?.monotonicMs, 2000);
});

test('reports of another boot, or without an order (agents before it), are written as they come', async (t) => {
  const url = await freshDatabase(t);
  t.is((await keptAfter(url, 'dev-2', report(2000, 'boot-1'), report(1000, 'boot-2')))?.order?.boot, 'boot-2');
  t.is((await keptAfter(url, 'dev-3', report(2000), report(undefined)))?.order, undefined);
  t.is((await keptAfter(url, 'dev-4', report(1000), report(2000)))?.order?.monotonicMs, 2000, 'a newer report replaces an older one');
});

test('the order is validated at the edge: a bounded boot id and a non-negative number', (t) => {
  t.true(reportedStateSchema.safeParse(report(5)).success);
  t.false(reportedStateSchema.safeParse({ ...report(5), order: { boot: '', monotonicMs: 1 } }).success);
  t.false(reportedStateSchema.safeParse({ ...report(5), order: { boot: 'x'.repeat(65), monotonicMs: 1 } }).success);
  t.false(reportedStateSchema.safeParse({ ...report(5), order: { boot: 'b', monotonicMs: -1 } }).success);
  t.false(reportedStateSchema.safeParse({ ...report(5), order: { boot: 'b', monotonicMs: 1, extra: 1 } }).success, 'strict: no other keys');
  t.true(reportIsNewer(report(2), report(1)));
  t.false(reportIsNewer(report(1), report(2)));
  t.false(reportIsNewer(report(2, 'a'), report(1, 'b')));
  t.false(reportIsNewer(report(undefined), report(1)));
});
