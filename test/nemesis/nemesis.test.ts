import test from 'ava';
import { nemesisSeed, runNemesis } from '../support/nemesis/harness.js';

// The CI-bounded run (issue 13): at least 5 minutes of mixed faults against a real hub and three
// real agents, then every check; `npm run bench -- nemesis --minutes N` runs the same harness longer.
// EDGEPILOT_NEMESIS_SEED replays a run; EDGEPILOT_NEMESIS_MINUTES shortens it by hand (never below 5 in CI).
const minutes = Number(process.env['EDGEPILOT_NEMESIS_MINUTES'] ?? '5');

test('a fleet under random faults keeps every acknowledged change and converges without duplicates', async (t) => {
  t.timeout((minutes + 3) * 60_000);
  const result = await runNemesis({ seed: nemesisSeed(), durationMs: minutes * 60_000, agents: 3, log: (line) => t.log(line) });
  t.true(result.history.some((op) => op.outcome === 'acked'), 'the generator got acknowledgements');
  t.true(Object.values(result.faults).reduce((a, b) => a + (b ?? 0), 0) > 0, 'faults were injected');
  t.deepEqual(result.violations, [], `seed ${result.seed}:\n${result.table}`);
});
