import test from 'ava';
import { checkHistory, observedState, type CheckInput, type Intent, type Operation, type Outcome, type Sample } from '../../support/nemesis/history.js';

let seq = 0;
const op = (intent: Intent, outcome: Outcome = 'acked'): Operation => ({ seq: ++seq, at: seq * 100, intent, outcome });

const healthy = {
  convergedAt: 10_000,
  devices: [{ id: 'd1', online: true, credentialsRefused: false }],
  store: { loaded: true },
} satisfies Partial<CheckInput>;

const emptyState = observedState({ workloads: [], cronJobs: [], devices: [], validTokens: [] });
const running = (workload: string, n: number, marker: string, device = 'd1'): Sample['processes'] =>
  Array.from({ length: n }, (_, i) => ({ device, workload, instance: `${workload}-${i}`, marker }));

test('a history whose every acknowledged change is found, converged, passes', (t) => {
  const history = [
    op({ kind: 'apply-workload', name: 'w', replicas: 1, marker: '1' }),
    op({ kind: 'apply-workload', name: 'w', replicas: 2, marker: '2' }),
    op({ kind: 'label', device: 'd1', key: 'k', value: 'v' }),
    op({ kind: 'cordon', device: 'd1', cordoned: true }),
    op({ kind: 'cordon', device: 'd1', cordoned: false }),
    op({ kind: 'token-create', tokenId: 'abc123' }),
    op({ kind: 'apply-cronjob', name: 'c', schedule: '0 0 1 1 *' }),
    op({ kind: 'delete-cronjob', name: 'c' }),
    op({ kind: 'apply-workload', name: 'gone', replicas: 1, marker: '3' }),
    op({ kind: 'delete-workload', name: 'gone' }),
  ];
  const observed = observedState({
    workloads: [{ name: 'w', replicas: 2, marker: '2' }],
    cronJobs: [],
    devices: [{ id: 'd1', labels: { k: 'v', other: 'x' }, cordoned: false }],
    validTokens: ['abc123'],
  });
  t.deepEqual(checkHistory({ ...healthy, history, observed, samples: [{ at: 11_000, processes: running('w', 2, '2') }] }), []);
});

test('an acknowledged apply that is missing or older is a lost change', (t) => {
  const history = [op({ kind: 'apply-workload', name: 'w', replicas: 1, marker: '1' }), op({ kind: 'apply-workload', name: 'w', replicas: 2, marker: '2' })];
  const observed = observedState({ workloads: [{ name: 'w', replicas: 1, marker: '1' }], cronJobs: [], devices: [], validTokens: [] });
  const found = checkHistory({ ...healthy, history, observed, samples: [] });
  t.deepEqual(found.map((v) => v.kind), ['lost-change']);
  t.regex(found[0]?.detail ?? '', /workload\/w is replicas=1,marker=1; allowed replicas=2,marker=2/);
  t.deepEqual(checkHistory({ ...healthy, history, observed: emptyState, samples: [] }).map((v) => v.kind), ['lost-change']);
});

test('lost labels, cordons, tokens and firmware images are lost changes', (t) => {
  const history = [
    op({ kind: 'label', device: 'd1', key: 'k', value: 'v' }),
    op({ kind: 'cordon', device: 'd1', cordoned: true }),
    op({ kind: 'token-create', tokenId: 'tok1' }),
    op({ kind: 'firmware-push', target: 'stm32f103', version: '1.0.4', sha256: 'ab' }),
    op({ kind: 'apply-release', name: 'nr', version: '1.0.5' }),
    op({ kind: 'apply-rollout', name: 'nro-6', release: 'nr', version: '1.0.5' }),
  ];
  t.deepEqual(checkHistory({ ...healthy, history, observed: emptyState, samples: [] }).map((v) => v.kind), Array<string>(6).fill('lost-change'));
  const kept = observedState({ workloads: [], cronJobs: [], devices: [], validTokens: [], releases: [{ name: 'nr', version: '1.0.5' }], rollouts: [{ name: 'nro-6', release: { name: 'nr', version: '1.0.5' } }] });
  t.deepEqual(checkHistory({ ...healthy, history: history.slice(4), observed: kept, samples: [] }), []);
  const otherImage = observedState({ workloads: [], cronJobs: [], devices: [], validTokens: [], firmware: [{ target: 'stm32f103', version: '1.0.4', sha256: 'cd' }] });
  t.deepEqual(checkHistory({ ...healthy, history: history.slice(3, 4), observed: otherImage, samples: [] }).map((v) => v.kind), ['lost-change']);
});

test('an acknowledged delete that came back is a resurrected delete', (t) => {
  const history = [
    op({ kind: 'apply-workload', name: 'w', replicas: 1, marker: '1' }),
    op({ kind: 'delete-workload', name: 'w' }),
    op({ kind: 'token-create', tokenId: 'tok1' }),
    op({ kind: 'token-revoke', tokenId: 'tok1' }),
    op({ kind: 'label', device: 'd1', key: 'k', value: 'v' }),
    op({ kind: 'label', device: 'd1', key: 'k', value: null }),
  ];
  const observed = observedState({ workloads: [{ name: 'w', replicas: 1, marker: '1' }], cronJobs: [], devices: [{ id: 'd1', labels: { k: 'v' }, cordoned: false }], validTokens: ['tok1'] });
  const kinds = checkHistory({ ...healthy, history, observed, samples: [] }).map((v) => v.kind);
  t.deepEqual(kinds, ['resurrected-delete', 'resurrected-delete', 'resurrected-delete']);
});

test('a write with an unknown answer after the last acknowledged one may or may not have happened', (t) => {
  const history = [
    op({ kind: 'apply-workload', name: 'w', replicas: 1, marker: '1' }),
    op({ kind: 'delete-workload', name: 'w' }, 'unknown'),
    op({ kind: 'apply-workload', name: 'w', replicas: 3, marker: '9' }, 'refused'),
  ];
  const kept = observedState({ workloads: [{ name: 'w', replicas: 1, marker: '1' }], cronJobs: [], devices: [], validTokens: [] });
  t.deepEqual(checkHistory({ ...healthy, history, observed: kept, samples: [] }), []);
  t.deepEqual(checkHistory({ ...healthy, history, observed: emptyState, samples: [] }), []);
  // The refused write changed nothing: finding it is a violation.
  const refusedFound = observedState({ workloads: [{ name: 'w', replicas: 3, marker: '9' }], cronJobs: [], devices: [], validTokens: [] });
  t.deepEqual(checkHistory({ ...healthy, history, observed: refusedFound, samples: [] }).map((v) => v.kind), ['lost-change']);
});

test('a write that got no answer may land even after a later acknowledged one; an unknown (5xx) one may not', (t) => {
  const lateFound = observedState({ workloads: [{ name: 'w', replicas: 3, marker: '2' }], cronJobs: [], devices: [], validTokens: [] });
  const timedOut = [
    op({ kind: 'apply-workload', name: 'w', replicas: 3, marker: '2' }, 'no-answer'),
    op({ kind: 'apply-workload', name: 'w', replicas: 1, marker: '3' }),
  ];
  t.deepEqual(checkHistory({ ...healthy, history: timedOut, observed: lateFound, samples: [] }), []);
  const answered = [
    op({ kind: 'apply-workload', name: 'w', replicas: 3, marker: '2' }, 'unknown'),
    op({ kind: 'apply-workload', name: 'w', replicas: 1, marker: '3' }),
  ];
  t.deepEqual(checkHistory({ ...healthy, history: answered, observed: lateFound, samples: [] }).map((v) => v.kind), ['lost-change']);
});

test('samples after convergence: wrong count, duplicates, stale revisions and deleted workloads', (t) => {
  const history = [op({ kind: 'apply-workload', name: 'w', replicas: 2, marker: '2' })];
  const observed = observedState({ workloads: [{ name: 'w', replicas: 2, marker: '2' }], cronJobs: [], devices: [], validTokens: [] });
  const check = (processes: Sample['processes']): string[] => checkHistory({ ...healthy, history, observed, samples: [{ at: 11_000, processes }] }).map((v) => v.kind);
  t.deepEqual(check(running('w', 1, '2')), ['replica-count']);
  t.deepEqual(check(running('w', 3, '2')), ['replica-count']);
  t.deepEqual(check([...running('w', 2, '2'), { device: 'd2', workload: 'w', instance: 'w-1', marker: '2' }]), ['duplicate-instance', 'replica-count']);
  t.deepEqual(check(running('w', 2, '1')), ['stale-instance']);
  t.deepEqual(check([...running('w', 2, '2'), ...running('old', 1, '1')]), ['stale-instance']);
});

test('no convergence, lost credentials and an unloadable store are reported', (t) => {
  const { convergedAt: _ignored, ...rest } = healthy;
  void _ignored;
  const found = checkHistory({
    ...rest,
    history: [],
    observed: emptyState,
    samples: [],
    devices: [
      { id: 'd1', online: false, credentialsRefused: false },
      { id: 'd2', online: false, credentialsRefused: true },
    ],
    store: { loaded: false, error: 'unexpected end of JSON' },
  });
  t.deepEqual(found.map((v) => v.kind), ['not-converged', 'lost-credentials', 'lost-credentials', 'store-unloadable']);
});

test('rollouts: an acknowledged one must come to rest; paused only with a reason', (t) => {
  const history = [
    op({ kind: 'apply-release', name: 'nrd', version: '1.0.1' }),
    op({ kind: 'apply-rollout', name: 'ro-done', release: 'nrd', version: '1.0.1' }),
    op({ kind: 'apply-rollout', name: 'ro-back', release: 'nrd', version: '1.0.1' }),
    op({ kind: 'apply-rollout', name: 'ro-held', release: 'nrd', version: '1.0.1' }),
    op({ kind: 'apply-rollout', name: 'ro-stuck', release: 'nrd', version: '1.0.1' }),
    op({ kind: 'apply-rollout', name: 'ro-mute', release: 'nrd', version: '1.0.1' }),
    op({ kind: 'apply-rollout', name: 'ro-unacked', release: 'nrd', version: '1.0.1' }, 'no-answer'),
  ];
  const rollouts = [
    { name: 'ro-done', phase: 'completed' },
    { name: 'ro-back', phase: 'rolled-back' },
    { name: 'ro-held', phase: 'paused', pauseReason: 'wave all failed: 1 of 1 devices failed' },
    { name: 'ro-stuck', phase: 'progressing' },
    { name: 'ro-mute', phase: 'paused', pauseReason: ' ' },
    { name: 'ro-unacked', phase: 'progressing' },
  ];
  const observed = observedState({
    workloads: [],
    cronJobs: [],
    devices: [],
    validTokens: [],
    releases: [{ name: 'nrd', version: '1.0.1' }],
    rollouts: rollouts.map((r) => ({ name: r.name, release: { name: 'nrd', version: '1.0.1' } })),
  });
  const violations = checkHistory({ ...healthy, history, observed, samples: [], rollouts });
  t.deepEqual(
    violations.map((v) => v.kind),
    ['stuck-rollout', 'stuck-rollout'],
  );
  t.regex(violations[0]?.detail ?? '', /ro-stuck is progressing/);
  t.regex(violations[1]?.detail ?? '', /ro-mute is paused without a reason/);
});

test('rollouts: a device may run only a release an accepted rollout named, and the one it is pinned to', (t) => {
  const history = [
    op({ kind: 'apply-workload', name: 'w', replicas: 2, marker: '1' }),
    op({ kind: 'apply-rollout', name: 'ro-1', release: 'nrd', version: '1.0.2' }),
    op({ kind: 'apply-rollout', name: 'ro-2', release: 'nrd', version: '1.0.3' }, 'refused'),
    op({ kind: 'apply-rollout', name: 'ro-3', release: 'nrd', version: '1.0.4' }, 'no-answer'),
  ];
  const observed = observedState({
    workloads: [{ name: 'w', replicas: 2, marker: '1' }],
    cronJobs: [],
    devices: [],
    validTokens: [],
    rollouts: [{ name: 'ro-1', release: { name: 'nrd', version: '1.0.2' } }],
  });
  const rollouts = [{ name: 'ro-1', phase: 'completed' }];
  const sample = (processes: Sample['processes']): Sample[] => [{ at: 12_000, processes }];
  const good = sample([
    { device: 'd1', workload: 'w', instance: 'w-0', marker: 'r', release: '1.0.2' },
    { device: 'd2', workload: 'w', instance: 'w-1', marker: '1' },
  ]);
  t.deepEqual(checkHistory({ ...healthy, history, observed, rollouts, samples: good, pins: new Map([['d1', '1.0.2']]) }), [], 'a release process where its rollout pinned it passes, its marker is not the workload\'s');
  t.deepEqual(
    checkHistory({ ...healthy, history, observed, rollouts, samples: good, pins: new Map([['d1', '1.0.4']]) }).map((v) => v.kind),
    ['stale-instance'],
    'an unanswered rollout may have landed; then the process must run its release',
  );
  const refused = checkHistory({
    ...healthy,
    history,
    observed,
    rollouts,
    samples: sample([
      { device: 'd1', workload: 'w', instance: 'w-0', marker: 'r', release: '1.0.3' },
      { device: 'd2', workload: 'w', instance: 'w-1', marker: '1' },
    ]),
    pins: new Map([['d1', '1.0.3']]),
  });
  t.deepEqual(
    refused.map((v) => v.kind),
    ['release-without-rollout', 'release-without-rollout'],
    'a refused rollout put nothing anywhere: neither the pin nor the process',
  );
  const leftBehind = checkHistory({
    ...healthy,
    history,
    observed,
    rollouts,
    samples: sample([
      { device: 'd1', workload: 'w', instance: 'w-0', marker: '1' },
      { device: 'd2', workload: 'w', instance: 'w-1', marker: '1' },
    ]),
    pins: new Map([['d1', '1.0.2']]),
  });
  t.deepEqual(leftBehind.map((v) => v.kind), ['stale-instance'], 'a pinned device that still runs the workload\'s own template has not taken its release');
});
