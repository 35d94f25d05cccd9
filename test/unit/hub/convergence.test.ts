// What `GET /v1/stats?instances=true` counts: sent instances reported running and ready at the
// revision that was sent (the fleet benchmark's "the hub has seen every instance running").
import test from 'ava';
import { templateSchema, type DesiredState, type ReportedState } from '../../../src/protocol/index.js';
import { addConvergence, emptyConvergence } from '../../../src/hub/workloads/convergence.js';

const template = templateSchema.parse({ runtime: 'process', command: ['sleep', '1'] });
const sent = (...ids: string[]): DesiredState => ({ generation: 1, issuedAt: '2026-01-01T00:00:00Z', instances: ids.map((id) => ({ id, workload: id, revision: 'rev00002', template })) });
const seen = (...entries: [string, string, ReportedState['instances'][number]['phase'], boolean][]): ReportedState => ({
  observedGeneration: 1,
  time: '2026-01-01T00:00:01Z',
  instances: entries.map(([id, revision, phase, ready]) => ({ id, workload: id, revision, runtime: 'process', phase, ready, restarts: 0 })),
});

test('only running and ready at the sent revision counts; a device converges when all of its instances do', (t) => {
  const c = emptyConvergence();
  addConvergence(c, sent('a', 'b'), seen(['a', 'rev00002', 'running', true], ['b', 'rev00002', 'running', true]));
  addConvergence(c, sent('a', 'b'), seen(['a', 'rev00001', 'running', true], ['b', 'rev00002', 'running', false]));
  addConvergence(c, sent('a'), seen(['a', 'rev00002', 'starting', false]));
  addConvergence(c, sent('a'), undefined);
  addConvergence(c, sent(), seen(['x', 'rev00002', 'running', true]));
  addConvergence(c, undefined, seen(['x', 'rev00002', 'running', true]));
  t.deepEqual(c, { devices: 4, devicesConverged: 1, instances: 6, running: 2 });
});
