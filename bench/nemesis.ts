// `npm run bench -- nemesis --minutes N [--agents N] [--seed S] [--broker mosquitto]`: the nemesis test tier's harness
// (test/support/nemesis), run longer. Prints the same table; its baseline is the convergence time
// of one apply measured before any fault in the same run.
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { nemesisSeed, runNemesis } from '../test/support/nemesis/harness.js';

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: 'string', default: '30' },
      agents: { type: 'string', default: '3' },
      seed: { type: 'string' },
      broker: { type: 'string', default: 'embedded' },
    },
  });
  const minutes = Number(values.minutes);
  const agents = Number(values.agents);
  if (!(minutes > 0)) throw new Error(`--minutes: a positive number, not ${values.minutes}`);
  if (!Number.isInteger(agents) || agents < 1 || agents > 50) throw new Error(`--agents: 1–50, not ${values.agents}`);
  const broker = values.broker;
  if (broker !== 'embedded' && broker !== 'mosquitto') throw new Error(`--broker: embedded or mosquitto, not ${broker}`);
  const seed = nemesisSeed(values.seed !== undefined ? { EDGEPILOT_NEMESIS_SEED: values.seed } : process.env);
  const before = loadavg()[0] ?? 0;
  const result = await runNemesis({ seed, durationMs: minutes * 60_000, agents, broker, log: (line) => console.log(line) });
  console.log(`load average: ${before.toFixed(1)} at the start, ${(loadavg()[0] ?? 0).toFixed(1)} at the end`);
  if (result.violations.length > 0) process.exitCode = 1;
}
