// Must-show 5 at the level of the state machine: a hub killed at any instant and restarted from
// the last state it wrote never assigns a device twice, skips none, and finishes the rollout.
import test from 'ava';
import fc from 'fast-check';
import type { RolloutState } from '../../../../src/protocol/index.js';
import { canonicalJson, rolloutStateSchema } from '../../../../src/protocol/index.js';
import type { StepResult, WindowLookup } from '../../../../src/scheduler/index.js';
import { alwaysOpen, createRollout, step } from '../../../../src/scheduler/index.js';
import { Fleet, hw, input, sec, simDevice, spec, t0, v1, v2 } from './fixtures.js';

type Op =
  | { kind: 'step' | 'crash-before-write' | 'crash-after-write' | 'crash-after-actions' }
  | { kind: 'tick'; seconds: number }
  | { kind: 'toggle'; device: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'step' as const }) },
  fc.constant({ kind: 'crash-before-write' as const }),
  fc.constant({ kind: 'crash-after-write' as const }),
  fc.constant({ kind: 'crash-after-actions' as const }),
  fc.integer({ min: 1, max: 40 }).map((seconds) => ({ kind: 'tick' as const, seconds })),
  fc.integer({ min: 0, max: 7 }).map((device) => ({ kind: 'toggle' as const, device })),
);

const timing = fc.record({
  minHealthySeconds: fc.integer({ min: 0, max: 20 }),
  maxUnavailable: fc.integer({ min: 1, max: 3 }),
  maxSurge: fc.integer({ min: 0, max: 2 }),
});
const canaryArb = fc.option(timing.map((t) => ({ ...t, canary: 'coverHardwareClasses' })), { nil: undefined });
const waveArb = fc.oneof(
  fc.tuple(timing, fc.integer({ min: 0, max: 4 })).map(([t, count]) => ({ ...t, count })),
  fc.tuple(timing, fc.integer({ min: 1, max: 100 })).map(([t, percent]) => ({ ...t, percent })),
  fc.tuple(timing, fc.constantFrom('north', 'south')).map(([t, zone]) => ({ ...t, selector: { matchLabels: { zone } } })),
);

/** Windows that close one minute in three, a different minute per device. */
const rotatingWindows: WindowLookup = (id, now) => {
  const minute = Math.floor(now / 60_000);
  const closed = (Number(id.replace(/\D/g, '')) + minute) % 3 === 0;
  return closed ? { open: false, nextOpen: (minute + 1) * 60_000 } : { open: true, nextOpen: null };
};

interface World {
  fleet: Fleet;
  window: WindowLookup;
  persisted: RolloutState;
  now: number;
  /** assign-release actions per device, over the transitions that were written. */
  assigned: Map<string, number>;
  /** revert actions per device, likewise. */
  reverted: Map<string, number>;
}

/** Frozen deeply: a step that edited the state it was given would throw here. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function write(w: World, r: StepResult): void {
  w.persisted = deepFreeze(r.next);
  for (const a of r.actions) {
    if (a.type !== 'assign-release' && a.type !== 'revert') continue;
    const count = a.type === 'assign-release' ? w.assigned : w.reverted;
    for (const id of a.deviceIds) count.set(id, (count.get(id) ?? 0) + 1);
  }
  // What was written reads back as itself.
  const stored = JSON.parse(JSON.stringify(r.next)) as unknown;
  if (canonicalJson(rolloutStateSchema.parse(stored)) !== canonicalJson(stored)) throw new Error('stored state changed on re-parse');
}

function once(w: World): StepResult {
  const r = step(w.persisted, input(w.fleet, { window: w.window }), w.now);
  const again = step(w.persisted, input(w.fleet, { window: w.window }), w.now);
  if (JSON.stringify(again) !== JSON.stringify(r)) throw new Error('step is not deterministic');
  return r;
}

function run(w: World, op: Op): void {
  switch (op.kind) {
    case 'tick':
      w.now += sec(op.seconds);
      return;
    case 'toggle': {
      const d = [...w.fleet.devices.values()][op.device % w.fleet.devices.size];
      if (d) d.online = !d.online;
      return;
    }
    case 'crash-before-write':
      once(w); // decided, never written, never done: as if it never happened
      return;
    default: {
      const r = once(w);
      if (r.transition === null) return;
      write(w, r);
      if (op.kind !== 'crash-after-write') for (const a of r.actions) w.fleet.apply(a);
      // A restarted hub re-does the outbox of the state it reads back.
      if (op.kind !== 'step') for (const a of w.persisted.status.outbox) w.fleet.apply(a);
    }
  }
}

test('random crashes (before the write, after it, after the actions), devices going offline and windows closing never assign a device twice nor skip one', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ cls: fc.integer({ min: 0, max: 2 }), zone: fc.constantFrom('north', 'south') }), { minLength: 1, maxLength: 8 }),
      canaryArb,
      fc.array(waveArb, { minLength: 1, maxLength: 4 }),
      fc.array(opArb, { maxLength: 150 }),
      fc.boolean(),
      (devices, canary, later, ops, windows) => {
        // The canary, if any, comes first (the schema refuses it after a percent wave).
        const waves = canary === undefined ? later : [canary, ...later];
        const fleet = new Fleet(
          devices.map((d, i) => simDevice(`dev-${i}`, { site: 'plant-3', zone: d.zone }, { hardware: hw(`board-${d.cls}`) })),
        );
        const s = spec({ waves: waves.map((w) => ({ ...w, healthyDeadlineSeconds: 600, progressDeadlineSeconds: 86_400 })) });
        const w: World = { fleet, window: windows ? rotatingWindows : alwaysOpen, persisted: createRollout({ name: 'tilt-2', spec: s, devices: fleet.observe(), releaseDigest: v2.digest, now: t0 }), now: t0, assigned: new Map(), reverted: new Map() };
        for (const op of ops) run(w, op);
        for (const d of fleet.devices.values()) d.online = true;
        for (let i = 0; i < 2000 && !(w.persisted.status.phase === 'completed' && Object.values(w.persisted.status.devices).every((d) => d.state === 'healthy')); i++) {
          const r = once(w);
          if (r.transition === null) w.now += sec(30);
          else {
            write(w, r);
            for (const a of r.actions) fleet.apply(a);
          }
        }
        t.is(w.persisted.status.phase, 'completed');
        for (const d of fleet.devices.values()) {
          t.is(w.persisted.status.devices[d.id]?.state, 'healthy', d.id);
          t.is(w.assigned.get(d.id), 1, `${d.id} assigned exactly once`);
          t.is(d.installs, 1, `${d.id} installed exactly once`);
          t.deepEqual(d.pinned, v2.ref);
        }
      },
    ),
    { numRuns: 80 },
  );
});

test('with a release that crash-loops, crashes anywhere still end in one rollback: each touched device reverted once, the others never touched', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 8 }), fc.array(opArb, { maxLength: 100 }), (n, ops) => {
      const fleet = new Fleet(Array.from({ length: n }, (_, i) => simDevice(`dev-${i}`, { site: 'plant-3' }, { behaviour: 'crash' })));
      const s = spec({ waves: [{ count: 1 }, { percent: 100, maxUnavailable: '100%' }] });
      const w: World = { fleet, window: alwaysOpen, persisted: createRollout({ name: 'tilt-2', spec: s, devices: fleet.observe(), releaseDigest: v2.digest, now: t0 }), now: t0, assigned: new Map(), reverted: new Map() };
      for (const op of ops) run(w, op);
      for (const d of fleet.devices.values()) d.online = true;
      for (let i = 0; i < 500 && w.persisted.status.phase !== 'rolled-back'; i++) {
        const r = once(w);
        if (r.transition === null) w.now += sec(30);
        else {
          write(w, r);
          for (const a of r.actions) fleet.apply(a);
        }
      }
      t.is(w.persisted.status.phase, 'rolled-back');
      t.is(once(w).transition, null, 'rolled back is the end');
      for (const d of fleet.devices.values()) {
        const touched = w.assigned.get(d.id) === 1;
        t.is(w.reverted.get(d.id) ?? 0, touched ? 1 : 0, d.id);
        t.is(d.installs, touched ? 2 : 0, d.id);
        t.deepEqual(d.pinned, v1);
      }
    }),
    { numRuns: 60 },
  );
});
