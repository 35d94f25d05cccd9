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
