import test from 'ava';
import { rolloutCommandSchema, rolloutManifestSchema, rolloutSpecSchema, rolloutStateSchema, validate } from '../../../src/protocol/index.js';

const manifest = (spec: Record<string, unknown>, name = 'tilt-2-1') => ({
  apiVersion: 'edgepilot.io/v1',
  kind: 'Rollout',
  metadata: { name },
  spec: { selector: { matchLabels: { site: 'plant-3' } }, release: { name: 'tilt', version: '2.1.0' }, ...spec },
});
const error = (spec: Record<string, unknown>, name?: string): string => {
  const r = validate(rolloutManifestSchema, manifest(spec, name));
  return r.ok ? 'ok' : r.error;
};

test('a rollout with a gate, a canary and percent waves parses with the documented defaults', (t) => {
  const r = rolloutManifestSchema.parse(
    manifest({
      startAt: '2026-03-01T02:00:00+01:00',
      waves: [
        { gate: 'hil', selector: { matchLabels: { role: 'bench' } }, checks: { telemetrySamples: 20 } },
        { canary: 'coverHardwareClasses', onSuccess: 'pause' },
        { percent: 50, failure: { maxPercent: 5, minReported: 10 } },
        { percent: 100 },
      ],
    }),
  );
  t.like(r.spec.waves[0], { checks: { mcuIdentifies: true, telemetrySamples: 20, workloadsReady: true } });
  t.like(r.spec.waves[3], {
    maxUnavailable: '25%',
    maxSurge: 0,
    minHealthySeconds: 60,
    healthyDeadlineSeconds: 600,
    progressDeadlineSeconds: 1800,
    success: { minPercent: 100, minReported: 0 },
    failure: { minReported: 1 },
    onSuccess: 'next',
    onFailure: 'rollback',
  });
  t.deepEqual(rolloutManifestSchema.parse(JSON.parse(JSON.stringify(r))), r, 're-parsing is a no-op');
});

test('rollout validation messages name the field', (t) => {
  t.is(error({ waves: [] }), 'spec.waves: a rollout needs at least one wave');
  t.is(error({ waves: [{ count: 1, percent: 10 }] }), 'spec.waves.0: a wave needs exactly one of count, percent, selector, canary, gate');
  t.is(error({ waves: [{}] }), 'spec.waves.0: a wave needs exactly one of count, percent, selector, canary, gate');
  t.is(error({ waves: [{ percent: 0 }] }), 'spec.waves.0.percent: Too small: expected number to be >=1');
  t.is(error({ waves: [{ count: 1 }, { gate: 'hil', selector: {} }] }), 'spec.waves.1.gate: the gate must be the first wave (wave 0)');
  t.is(error({ waves: [{ gate: 'hil' }, { percent: 100 }] }), 'spec.waves.0.selector: a gate wave needs a selector of bench devices (e.g. role=bench)');
  t.is(error({ waves: [{ gate: 'hil', selector: {} }] }), 'spec.waves: a gate wave needs at least one wave of the target after it');
  t.is(error({ waves: [{ count: 1, checks: {} }] }), 'spec.waves.0.checks: checks belong to a gate wave (gate: hil)');
  t.is(error({ waves: [{ percent: 10 }, { canary: 'coverHardwareClasses' }] }), 'spec.waves.0.percent: the canary wave must come before any percent wave');
  t.is(error({ waves: [{ canary: 'coverHardwareClasses' }, { canary: 'coverHardwareClasses' }] }), 'spec.waves.1.canary: waves[0] is already the canary wave');
  t.is(error({ waves: [{ count: 1, minHealthySeconds: 600, healthyDeadlineSeconds: 600 }] }), 'spec.waves.0.healthyDeadlineSeconds: must exceed minHealthySeconds (600), or no device could ever be healthy');
  t.is(
    error({ waves: [{ count: 1, healthyDeadlineSeconds: 900, progressDeadlineSeconds: 300 }] }),
    'spec.waves.0.progressDeadlineSeconds: must be at least healthyDeadlineSeconds (900), or the wave could fail before its devices are judged',
  );
  t.is(error({ waves: [{ count: 1, maxUnavailable: '0%' }] }), 'spec.waves.0.maxUnavailable: must allow at least one device (with 0 no device of the wave could ever install)');
  t.is(error({ waves: [{ count: 1, maxUnavailable: '150%' }] }), 'spec.waves.0.maxUnavailable: must be a whole number or a percentage such as 25%');
  t.is(error({ waves: [{ count: 1, onFailure: 'retry' }] }), 'spec.waves.0.onFailure: Invalid option: expected one of "rollback"|"pause"');
  t.is(error({ waves: [{ count: 1 }], release: { name: 'tilt', version: 'latest' } }), 'spec.release.version: must be a semantic version such as 2.1.0');
  t.is(error({ waves: [{ count: 1 }] }, 'all'), 'metadata.name: "all" is a reserved word (all, none, current, previous, latest, default); choose another name');
  t.is(error({ waves: [{ count: 1 }], skipGate: { reason: ' ' } }), 'spec.skipGate.reason: say why the gate is skipped');
  t.is(error({ waves: [{ count: 1 }], startAt: 'tonight' }), 'spec.startAt: Invalid ISO datetime');
});

test('stored state: unknown fields and bad states are refused with their path', (t) => {
  const spec = rolloutSpecSchema.parse({ selector: {}, release: { name: 'tilt', version: '2.1.0' }, waves: [{ count: 1 }] });
  const state = {
    name: 'tilt-2-1',
    createdAt: '2026-03-01T01:00:00.000Z',
    spec,
    status: {
      revision: 3,
      phase: 'progressing',
      currentWave: 0,
      releaseDigest: `sha256:${'0'.repeat(64)}`,
      waves: [{ state: 'active', startedAt: '2026-03-01T01:00:00.000Z' }],
      devices: { 'gw-1': { wave: 0, state: 'updating', since: '2026-03-01T01:00:00.000Z', assignedAt: '2026-03-01T01:00:00.000Z', previousRelease: null } },
      pause: null,
      gate: null,
      gateOverride: null,
      history: [],
      outbox: [{ type: 'assign-release', deviceIds: ['gw-1'], release: { name: 'tilt', version: '2.1.0' } }],
    },
  };
  t.deepEqual(rolloutStateSchema.parse(state), state, 'canonical: parses to exactly itself');
  const bad = validate(rolloutStateSchema, { ...state, status: { ...state.status, devices: { 'gw-1': { ...state.status.devices['gw-1'], state: 'done' } } } });
  t.false(bad.ok);
  if (!bad.ok) t.regex(bad.error, /^status\.devices\.gw-1\.state: Invalid option/);
  const lost = validate(rolloutStateSchema, { ...state, status: { ...state.status, devices: { 'gw-1': { ...state.status.devices['gw-1'], wave: 4 } } } });
  t.deepEqual(lost, { ok: false, error: 'status.devices.gw-1.wave: no wave 4' });
});

test('operator commands', (t) => {
  t.true(rolloutCommandSchema.safeParse({ type: 'promote', skipGate: { reason: 'bench down' } }).success);
  t.false(rolloutCommandSchema.safeParse({ type: 'promote', skipGate: {} }).success, 'an override needs a reason');
  t.false(rolloutCommandSchema.safeParse({ type: 'restart' }).success);
});
