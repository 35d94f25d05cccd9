// Issue 14: what the pace of config changes reads from a device's report. A device that applied the
// new document but still runs the instance it started with the earlier version has not moved yet: a
// report from between the document and the restart must not free its slot (found by
// test/integration/config-objects.test.ts in CI: a second device got the bad version).
import test from 'ava';
import { templateSchema, type DesiredInstance, type DesiredState, type ReportedInstance, type ReportedState } from '../../../src/protocol/index.js';
import { planConfigPace } from '../../../src/hub/config-objects/config-pace-inputs.js';
import { CONFIG_READY_GRACE_MS, CONFIG_STABLE_MS } from '../../../src/hub/config-objects/config-pacing.js';
import type { ConfigObjectRecord } from '../../../src/hub/config-objects/config-records.js';
import type { DeviceRecord, WorkloadRecord } from '../../../src/hub/store/records.js';

const OLD = 'a'.repeat(16);
const NEW = 'b'.repeat(16);
const ISSUED = '2026-06-01T12:00:00.000Z';
const NOW = new Date('2026-06-01T12:00:30.000Z');
const template = templateSchema.parse({ runtime: 'process', command: ['sleep', '60'], envFrom: [{ configMap: 'level' }] });
const instance = (configRevision: string): DesiredInstance => ({ id: 'paced', workload: 'paced', revision: 'cccccccc', template, configRevision });

const record: ConfigObjectRecord = {
  kind: 'ConfigMap', name: 'level', labels: {}, annotations: {}, immutable: false,
  version: NEW, keys: ['LEVEL'], sizes: { LEVEL: 3 }, textKeys: ['LEVEL'], values: { LEVEL: 'YmFk' },
  history: [{ version: OLD, keys: ['LEVEL'], sizes: { LEVEL: 4 }, textKeys: ['LEVEL'], values: { LEVEL: 'Z29vZA==' }, storedAt: ISSUED }],
  createdAt: ISSUED, updatedAt: ISSUED,
};

const sent = (version: string, generation: number): DesiredState => ({
  generation, issuedAt: ISSUED, instances: [instance(version === NEW ? 'e'.repeat(16) : 'd'.repeat(16))],
  configs: [{ kind: 'ConfigMap', name: 'level', version, values: {} }],
});

const running = (extra: Partial<ReportedInstance>): ReportedInstance => ({ id: 'paced', workload: 'paced', revision: 'cccccccc', runtime: 'process', phase: 'running', ready: true, restarts: 0, ...extra });

/** d1 was sent the new version (generation 2) and reports `first`; d2 and d3 still have the old one. */
async function heldWith(first: ReportedInstance, now = NOW): Promise<string[]> {
  return (await paceWith(first, now)).held;
}

async function paceWith(first: ReportedInstance, now = NOW): Promise<{ held: string[]; nextCheckAt: number | undefined }> {
  const reports = new Map<string, ReportedState>([['d1', { observedGeneration: 2, time: NOW.toISOString(), instances: [first] }]]);
  const devices = ['d1', 'd2', 'd3'].map((id) => ({ id, status: { state: 'online' } }) as unknown as DeviceRecord);
  const result = await planConfigPace({
    wanted: new Map(['d1', 'd2', 'd3'].map((id) => [id, [instance('f'.repeat(16))]])),
    stored: new Map([['ConfigMap/level', record]]),
    pins: new Map(),
    published: new Map([['d1', sent(NEW, 2)], ['d2', sent(OLD, 1)], ['d3', sent(OLD, 1)]]),
    devices,
    fleet: {
      workloads: { list: () => Promise.resolve([{ name: 'paced', spec: { updateStrategy: { maxUnavailable: 1 } } } as unknown as WorkloadRecord]) },
      deviceState: { reportedSnapshot: () => Promise.resolve(reports) },
    } as never,
    now,
  });
  return { held: [...result.held.keys()].sort(), nextCheckAt: result.nextCheckAt };
}

test('a ready instance still on the configRevision it started with holds its slot', async (t) => {
  t.deepEqual(await heldWith(running({ configRevision: 'd'.repeat(16) })), ['d2', 'd3']);
});

test('the instance restarted on the new configRevision frees the slot for the next device', async (t) => {
  t.deepEqual(await heldWith(running({ configRevision: 'e'.repeat(16) })), ['d3']);
});

test('an agent too old to report configRevision is believed once its instance started after the document', async (t) => {
  t.deepEqual(await heldWith(running({ startedAt: '2026-06-01T11:59:00.000Z' })), ['d2', 'd3']);
  t.deepEqual(await heldWith(running({ startedAt: '2026-06-01T12:00:02.000Z' })), ['d3']);
});

test('ready a moment after its start is not moved yet: it must stay up CONFIG_STABLE_MS (a crash right after a start is no success); the pace says when to look again', async (t) => {
  const started = '2026-06-01T12:00:28.000Z';
  const early = await paceWith(running({ configRevision: 'e'.repeat(16), startedAt: started }));
  t.deepEqual(early.held, ['d2', 'd3']);
  t.is(early.nextCheckAt, Date.parse(started) + CONFIG_STABLE_MS);
  const later = await paceWith(running({ configRevision: 'e'.repeat(16), startedAt: started }), new Date(Date.parse(started) + CONFIG_STABLE_MS));
  t.deepEqual(later.held, ['d3']);
  // Not ready yet: looked at again when it would be late.
  const starting = await paceWith(running({ configRevision: 'e'.repeat(16), phase: 'starting', ready: false }));
  t.is(starting.nextCheckAt, Date.parse(ISSUED) + CONFIG_READY_GRACE_MS);
});
