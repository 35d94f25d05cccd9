// `npm run bench -- <name> [options]`: every benchmark prints its numbers and, where it has one,
// a ratio against a baseline measured in the same process, so machines can be compared fairly.
import { parseArgs } from 'node:util';
import { errnoCode, errorMessage } from '../src/common/errors.js';

type BenchModule = { run(argv: string[]): Promise<void> };

const benches: Record<string, { describe: string; load: () => Promise<BenchModule> }> = {
  registration: { describe: 'registration storm: N simulated agents join and go online [--devices N --workers W --concurrency C --skip-baseline]; --hubs 3 --store postgres: the storm over 3 hubs on PostgreSQL + Redis vs 1 embedded hub, cost per device and a 3-machine estimate', load: () => import('./registration.js') },
  workloads: { describe: 'apply→running latency (50 processes, 10 containers) and agent RSS idle/busy', load: () => import('./workloads.js') },
  'agent-memory': { describe: 'where an idle agent\'s RSS is (node binary by section, ICU data, V8 heap spaces) vs bare Node [--containers N --cronjobs N --wait S --agent-node-flags=...]', load: () => import('./agent-memory.js') },
  scheduler: { describe: 'placements per second at 1k / 5k / 20k devices', load: () => import('./scheduler.js') },
  api: { describe: 'API write path: 1/10/150/1000 concurrent applies, 0 and 5,000 devices; applies/s, p50/p99, fsyncs per request', load: () => import('./api.js') },
  reconnect: { describe: 'restart storm: N registered devices, hub SIGKILLed and restarted, then Mosquitto restarted under the hub; until all online, store compared', load: () => import('./reconnect.js') },
  rollout: { describe: 'a release to N simulated devices in 5 waves, zero soak: time, hub CPU per wave, messages per device', load: () => import('./rollout.js') },
  fleet: { describe: 'fleet apply end to end: N simulated devices (default 20,000) follow 3 applies; convergence p50/p99, hub CPU, bytes; passes with 50 workloads', load: () => import('./fleet.js') },
  passes: { describe: "the hub's desired-state pass in process at N devices (default 20,000) and 50 workloads: idle, with one change, and the pass after it", load: () => import('./passes.js') },
  nemesis: { describe: 'the nemesis test tier run longer: random writes and faults (hub/agent kill, partitions, MQTT duplicates, clock steps, full disk; Mosquitto restarts with --broker mosquitto) [--minutes 30 --agents 3 --seed S --broker embedded|mosquitto]', load: () => import('./nemesis.js') },
  flash: { describe: '64 KB into an emulated STM32 over 115200 8E1 (vs stm32flash, raw stream), one page, delta download size [--skip readback,stm32flash,line]', load: () => import('./flash.js') },
};

async function main(): Promise<void> {
  const [name, ...rest] = process.argv.slice(2);
  const { values } = parseArgs({ args: name ? [] : process.argv.slice(2), options: { help: { type: 'boolean', short: 'h' } }, strict: false });
  const entry = name ? benches[name] : undefined;
  if (!entry || values.help) {
    console.log('usage: npm run bench -- <name> [options]\n');
    for (const [key, b] of Object.entries(benches)) console.log(`  ${key.padEnd(14)} ${b.describe}`);
    process.exitCode = name && !entry ? 1 : 0;
    return;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`usage: npm run bench -- ${name} [options]\n\n  ${entry.describe}`);
    return;
  }
  const mod = await entry.load();
  try {
    await mod.run(rest);
  } catch (err) {
    // A mistyped flag is the user's slip: one line and the bench's usage, not a stack.
    const code = errnoCode(err);
    if (code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && code !== 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw err;
    console.error(`bench ${name}: ${errorMessage(err)}\n  ${entry.describe}`);
    process.exitCode = 2;
  }
}

await main();
