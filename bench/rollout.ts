// `npm run bench -- rollout --devices 10000`: a release rolled out to a whole simulated fleet in 5
// waves with zero soak. Every device runs a `replicas: all` workload at v1 and follows its
// desired state like a healthy agent (bench/support/sim-rollout-health.ts); the release changes
// that workload's template. Measured from `rollout start` answering to the rollout completed:
// the time, the hub's CPU per wave, messages per device; baseline: the same run's registration.
import { parseArgs } from 'node:util';
import { startBenchHub, type BenchHub } from './support/hub-process.js';
import { cpuSeconds } from './support/proc.js';
import { startSimFleet } from './support/sim-fleet.js';

const GOAL_SECONDS = 10;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

const template = (version: string) => ({ runtime: 'process', command: ['sleep', '100000'], env: { VERSION: version } });
type Stats = { devices: number; online: number; messages: { received: number; dropped: number } };
type RolloutList = { items: { name: string; phase: string; currentWave: number; waves: { name: string; state: string; counts: Record<string, number> }[] }[] };

async function workloadReady(hub: BenchHub, name: string, devices: number): Promise<boolean> {
  type Workloads = { items: { name: string; status: { desired: number; ready: number } }[] };
  const w = (await hub.api<Workloads>('GET', '/v1/workloads')).items.find((x) => x.name === name);
  return w !== undefined && w.status.desired >= devices && w.status.ready >= w.status.desired;
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      devices: { type: 'string', default: '10000' },
      workers: { type: 'string' },
      concurrency: { type: 'string', default: '250' },
      'poll-ms': { type: 'string', default: '500' },
      // A loaded machine answers some CONNECTs late; a real agent retries its join forever.
      'join-attempts': { type: 'string', default: '10' },
    },
  });
  const devices = Number(values.devices);
  const workers = Number(values.workers ?? Math.max(2, Math.ceil(devices / 2500)));
  const pollMs = Number(values['poll-ms']);
  console.log(`rollout: ${devices} simulated devices, ${workers} worker processes, 5 waves (1 %, 5 %, 20 %, 50 %, the rest), zero soak\n`);

  const hub = await startBenchHub();
  const hubPid = hub.child.pid ?? 0;
  const created = await hub.api<{ token: string }>('POST', '/v1/tokens', { ttlSeconds: 3600, maxUses: devices, description: 'bench' });
  const sim = await startSimFleet({ brokerUrl: hub.brokerUrl, token: created.token, devices, workers, concurrency: Number(values.concurrency), joinAttempts: Number(values['join-attempts']) }).catch(async (err: unknown) => {
    await hub.stop();
    throw err;
  });
  try {
    await until('every device online', async () => (await hub.api<Stats>('GET', '/v1/stats')).online >= devices, 120_000, 250);
    const registration = sim.registeredSeconds;
    const workload = 'rollout-probe';
    const applyStart = performance.now();
    await hub.api('POST', '/v1/apply', { manifests: [{ apiVersion: 'edgepilot.io/v1', kind: 'Workload', metadata: { name: workload }, spec: { replicas: 'all', template: template('1') } }] });
    await until('v1 running on every device', () => workloadReady(hub, workload, devices), 600_000, 1000);
    const v1Seconds = (performance.now() - applyStart) / 1000;
    await hub.api('POST', '/v1/apply', { manifests: [{ apiVersion: 'edgepilot.io/v1', kind: 'Release', metadata: { name: 'probe-rel' }, spec: { version: '2.0.0', workloads: { [workload]: template('2') } } }] });
    await sleep(1500); // let the hub settle (lazy flushes) before the clock starts

    const wave = (extra: Record<string, unknown>) => ({ ...extra, maxUnavailable: '100%', minHealthySeconds: 0, healthyDeadlineSeconds: 300, progressDeadlineSeconds: 600 });
    const rollout = {
      apiVersion: 'edgepilot.io/v1',
      kind: 'Rollout',
      metadata: { name: 'bench' },
      spec: {
        selector: { matchLabels: {} },
        release: { name: 'probe-rel', version: '2.0.0' },
        waves: [wave({ name: 'one', percent: 1 }), wave({ name: 'five', percent: 5 }), wave({ name: 'twenty', percent: 20 }), wave({ name: 'half', percent: 50 }), wave({ name: 'rest', percent: 100 })],
      },
    };
    const simBefore = await sim.counters();
    const statsBefore = await hub.api<Stats>('GET', '/v1/stats');
    const cpuStart = cpuSeconds(hubPid);
    const start = performance.now();
    await hub.api('POST', '/v1/apply', { manifests: [rollout] });
    const answered = (performance.now() - start) / 1000;
    const waves: { index: number; endedAt: number; cpu: number; name: string }[] = [];
    let phase = 'progressing';
    let last: RolloutList['items'][number] | undefined;
    await until(
      'the rollout to end',
      async () => {
        last = (await hub.api<RolloutList>('GET', '/v1/rollouts')).items.find((r) => r.name === 'bench');
        if (!last) return false;
        phase = last.phase;
        for (const [index, w] of last.waves.entries()) {
          if (w.state !== 'pending' && w.state !== 'active' && !waves.some((x) => x.index === index)) waves.push({ index, name: w.name, endedAt: performance.now(), cpu: cpuSeconds(hubPid) });
        }
        return !['scheduled', 'progressing'].includes(phase) || waves.length === last.waves.length;
      },
      1_200_000,
      pollMs,
    );
    const seconds = (performance.now() - start) / 1000;
    const hubCpu = cpuSeconds(hubPid) - cpuStart;
    const simAfter = await sim.counters();
    const statsAfter = await hub.api<Stats>('GET', '/v1/stats');

    console.log(`rollout ${phase}: ${last?.waves.map((w) => `${w.name} ${w.state} (${w.counts['healthy'] ?? 0} healthy, ${w.counts['failed'] ?? 0} failed)`).join(', ')}`);
    const rows: [string, string][] = [
      ['rollout start → completed', `${seconds.toFixed(2)} s (goal: hub overhead ≤ ${GOAL_SECONDS} s; start answered in ${answered.toFixed(2)} s; polled every ${pollMs} ms)`],
      ['hub CPU during the rollout', `${hubCpu.toFixed(2)} s (${((hubCpu / seconds) * 100).toFixed(0)} % of one core)`],
    ];
    let previous = { endedAt: start, cpu: cpuStart };
    for (const w of waves.sort((a, b) => a.index - b.index)) {
      rows.push([`  wave ${w.index} (${w.name})`, `ended after ${((w.endedAt - previous.endedAt) / 1000).toFixed(2)} s, hub CPU ${(w.cpu - previous.cpu).toFixed(2)} s`]);
      previous = w;
    }
    const received = simAfter.received - simBefore.received;
    const published = simAfter.published - simBefore.published;
    rows.push(['messages per device', `${(received / devices).toFixed(2)} desired documents received, ${(published / devices).toFixed(2)} reports sent (hub received ${((statsAfter.messages.received - statsBefore.messages.received) / devices).toFixed(2)} per device)`]);
    rows.push(['baseline: registration of the fleet, same run', `${registration.toFixed(2)} s (ratio rollout / registration ${(seconds / registration).toFixed(2)})`]);
    rows.push(['reference: v1 apply to running everywhere', `${v1Seconds.toFixed(2)} s`]);
    for (const [k, v] of rows) console.log(`${k.padEnd(46)} ${v}`);
    if (phase !== 'completed') {
      console.error(`\nFAILED: the rollout ended ${phase}`);
      process.exitCode = 1;
    }
  } finally {
    await sim.stop();
    await hub.stop();
  }
}
