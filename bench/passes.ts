// `npm run bench -- passes [--devices 20000] [--workloads 50]`: the desired-state controller's pass
// in process on a lowdb store holding a fleet in steady state (bench/support/pass-fixture.ts):
// a pass with nothing to change (skipped when nothing is dirty), a pass carrying one template change of
// a 20-replica workload, the pass after each change (nothing to change, but run whole), and a pass
// after 100 devices reported (their lastSeen written: nothing to change, but the device list is new).
// Baseline, same run: one structuredClone of every device record (the least a pass that copies
// the fleet out of the store pays).
import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { parseManifests, recordFor } from '../src/hub/workloads/manifests.js';
import { benchWorkload, passFixture } from './support/pass-fixture.js';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN;
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { devices: { type: 'string', default: '20000' }, workloads: { type: 'string', default: '50' }, rounds: { type: 'string', default: '7' } } });
  const devices = Number(values.devices);
  const workloads = Number(values.workloads);
  const rounds = Number(values.rounds);
  const setupStart = performance.now();
  const fixture = await passFixture(devices, workloads);
  console.log(`passes: ${devices} devices, ${workloads} workloads (fleet set up in ${((performance.now() - setupStart) / 1000).toFixed(1)} s)\n`);
  // CPU time of the process during each pass: on a shared machine it moves far less with the
  // load than wall time does.
  const cpu = { idle: [] as number[], change: [] as number[], after: [] as number[], touched: [] as number[] };
  const pass = async (into: number[]): Promise<void> => {
    const start = process.cpuUsage();
    await fixture.controller.reconcile();
    const used = process.cpuUsage(start);
    into.push((used.user + used.system) / 1000);
  };
  const idle: number[] = [];
  const idlePlacement: number[] = [];
  for (let i = 0; i < rounds; i++) {
    await pass(cpu.idle);
    const last = fixture.controller.timings.summary().last;
    if (last) {
      idle.push(last.totalMs);
      idlePlacement.push(last.placementMs);
    }
  }
  const change: number[] = [];
  const changePlacement: number[] = [];
  const after: number[] = [];
  const afterPlacement: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const [manifest] = parseManifests([benchWorkload('small-0', { replicas: Math.min(20, devices) }, { ROUND: String(i) })]);
    if (manifest) await fixture.store.workloads.putAll([recordFor(manifest, await fixture.store.workloads.get('small-0'), new Date().toISOString()).record]);
    await pass(cpu.change);
    const last = fixture.controller.timings.summary().last;
    if (last) {
      change.push(last.totalMs);
      changePlacement.push(last.placementMs);
    }
    // The pass after it changes nothing, but it cannot be skipped (the one before changed documents): it runs whole.
    await pass(cpu.after);
    const next = fixture.controller.timings.summary().last;
    if (next) {
      after.push(next.totalMs);
      afterPlacement.push(next.placementMs);
    }
  }
  // Reports touch devices between passes (lastSeen): the device list is new, 100 records in it too.
  const touched: number[] = [];
  const touchedPlacement: number[] = [];
  for (let i = 0; i < rounds; i++) {
    for (let k = 0; k < Math.min(100, devices); k++) await fixture.store.devices.touch(`sim-${(i * 7919 + k * 199) % devices}`, new Date().toISOString());
    await pass(cpu.touched);
    const last = fixture.controller.timings.summary().last;
    if (last) {
      touched.push(last.totalMs);
      touchedPlacement.push(last.placementMs);
    }
  }
  const list = await fixture.store.devices.list();
  const cloneStart = performance.now();
  structuredClone(list);
  const cloneMs = performance.now() - cloneStart;
  const ms = (x: number): string => `${x.toFixed(1)} ms`;
  console.log(`pass, nothing to change      p50 ${ms(median(idle))} (placement ${ms(median(idlePlacement))}), max ${ms(Math.max(...idle))}; CPU p50 ${ms(median(cpu.idle))}`);
  console.log(`pass, one template change    p50 ${ms(median(change))} (placement ${ms(median(changePlacement))}), max ${ms(Math.max(...change))}; CPU p50 ${ms(median(cpu.change))}`);
  console.log(`pass after a change (runs whole) p50 ${ms(median(after))} (placement ${ms(median(afterPlacement))}), max ${ms(Math.max(...after))}; CPU p50 ${ms(median(cpu.after))}`);
  console.log(`pass after 100 devices reported p50 ${ms(median(touched))} (placement ${ms(median(touchedPlacement))}), max ${ms(Math.max(...touched))}; CPU p50 ${ms(median(cpu.touched))}`);
  console.log(`baseline: structuredClone of every device record ${ms(cloneMs)}; ratio pass/baseline ${(median(change) / cloneMs).toFixed(1)}×`);
  console.log(`goal: ≤ 100 ms at 20,000 devices with 50 workloads; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  fixture.controller.stop();
  await fixture.store.close();
  await rm(fixture.dir, { recursive: true, force: true });
}
