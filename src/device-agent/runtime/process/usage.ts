import type { UsageSample } from '../runtime.js';
import { CLOCK_TICKS_PER_SECOND, processGroupMembers, readRssBytes, readUptimeSeconds } from './proc.js';

/** CPU ticks of a process group at one moment, kept between calls to compute a rate. */
export interface CpuCounters {
  ticks: number;
  atMs: number;
}

/**
 * CPU and memory of a whole process group, like a container's cgroup would count them: CPU as
 * the tick delta since the previous sample over the wall time between them (100 % = one core),
 * memory as the sum of the members' VmRSS (shared pages are counted once per process, so this
 * over-reports forked workers a little). Without a previous sample the CPU figure is the
 * average over the leader's lifetime rather than nothing.
 */
export async function sampleGroupUsage(pgid: number, startTime: string | null, previous: CpuCounters | undefined): Promise<{ sample: UsageSample; counters: CpuCounters }> {
  const members = await processGroupMembers(pgid);
  // Each member counts the children it has reaped (cutime/cstime), so a short-lived helper's
  // CPU time moves to its parent; a member that dies unreaped drops out, so the sum can shrink.
  const ticks = members.reduce((sum, m) => sum + m.cpuTicks, 0);
  const memoryBytes = (await Promise.all(members.map((m) => readRssBytes(m.pid)))).reduce((a, b) => a + b, 0);
  const atMs = Date.now();
  let cpuPercent: number;
  if (previous !== undefined && atMs > previous.atMs) {
    cpuPercent = (Math.max(0, ticks - previous.ticks) / CLOCK_TICKS_PER_SECOND / ((atMs - previous.atMs) / 1000)) * 100;
  } else {
    const lifetimeSeconds = (await readUptimeSeconds()) - Number(startTime ?? 0) / CLOCK_TICKS_PER_SECOND;
    cpuPercent = lifetimeSeconds > 0 ? (ticks / CLOCK_TICKS_PER_SECOND / lifetimeSeconds) * 100 : 0;
  }
  return { sample: { cpuPercent, memoryBytes }, counters: { ticks, atMs } };
}
