// Issue 14: a config change moves a few devices at a time (pure decision, config-pacing.ts).
import test from 'ava';
import { paceConfigChanges, type DeviceProgress, type PaceInput } from '../../../src/hub/config-objects/config-pacing.js';

const NEW = 'b'.repeat(16);
const OLD = 'a'.repeat(16);

interface Fleet {
  advance?: boolean;
  /** What each device was sent (absent: never had the object). */
  sent: Record<string, string | undefined>;
  progress?: Record<string, DeviceProgress>;
  offline?: string[];
  budget?: number;
  kept?: string[];
}

function pace(f: Fleet) {
  const input: PaceInput = {
    objects: [{ kind: 'ConfigMap', name: 'settings', version: NEW, kept: (v) => (f.kept ?? [OLD]).includes(v) }],
    readers: new Map([['ConfigMap/settings', Object.keys(f.sent)]]),
    sent: (id) => f.sent[id],
    online: (id) => !(f.offline ?? []).includes(id),
    progress: (id) => f.progress?.[id] ?? { state: 'done' },
    budget: () => f.budget ?? 1,
    ...(f.advance === false ? { advance: false } : {}),
  };
  const result = paceConfigChanges(input);
  return { ...result, held: [...result.held.keys()].sort() };
}

test('a change moves budget devices at a time, by device id; the rest keep the earlier version', (t) => {
  const r = pace({ sent: { d1: OLD, d2: OLD, d3: OLD, d4: OLD, d5: OLD }, budget: 2 });
  t.deepEqual(r.held, ['d3', 'd4', 'd5']);
  t.true(r.moving);
  t.deepEqual(r.halts, []);
});

test('a device on its way holds its slot until its instances are ready; a ready one frees it', (t) => {
  const starting = pace({ sent: { d1: NEW, d2: OLD, d3: OLD }, progress: { d1: { state: 'progress' } } });
  t.deepEqual(starting.held, ['d2', 'd3']);
  const ready = pace({ sent: { d1: NEW, d2: OLD, d3: OLD }, progress: { d1: { state: 'done' } } });
  t.deepEqual(ready.held, ['d3']);
  const allDone = pace({ sent: { d1: NEW, d2: NEW, d3: NEW } });
  t.deepEqual(allDone.held, []);
  t.false(allDone.moving);
});

test('an instance that fails after the change stops the pace and says which, where and why', (t) => {
  const r = pace({
    sent: { d1: NEW, d2: OLD, d3: OLD },
    budget: 5,
    progress: { d1: { state: 'failed', instance: 'web-d1', workload: 'web', why: 'crash-loop: exit 1' } },
  });
  t.deepEqual(r.held, ['d2', 'd3']);
  t.deepEqual(r.halts, [{ kind: 'ConfigMap', name: 'settings', version: NEW, deviceId: 'd1', instance: 'web-d1', workload: 'web', why: 'crash-loop: exit 1', held: 2 }]);
});

test('devices that never had the object, whose earlier version is gone, or that are offline get the newest at once and hold no slot', (t) => {
  const r = pace({
    sent: { fresh: undefined, dropped: 'c'.repeat(16), away: OLD, awayNew: NEW, d1: OLD, d2: OLD },
    offline: ['away', 'awayNew'],
    // awayNew is offline with the new version: its missing report does not hold the slot.
    progress: { awayNew: { state: 'progress' } },
  });
  t.deepEqual(r.held, ['d2']);
});

test('a pass over some devices only moves nobody: every waiting device keeps its version', (t) => {
  const r = pace({ sent: { d1: OLD, d2: OLD }, budget: 2, advance: false });
  t.deepEqual(r.held, ['d1', 'd2']);
});

test('the earliest recheck of the devices on their way is when the pace looks again', (t) => {
  const r = pace({ sent: { d1: NEW, d2: NEW, d3: OLD }, budget: 3, progress: { d1: { state: 'progress', recheckAt: 5000 }, d2: { state: 'progress', recheckAt: 3000 } } });
  t.is(r.nextCheckAt, 3000);
  t.is(pace({ sent: { d1: NEW, d2: OLD } }).nextCheckAt, undefined);
});
