import { readdir, readFile } from 'node:fs/promises';

/** What the agent reads from `/proc/<pid>/stat` (see proc(5)). */
export interface ProcStat {
  pid: number;
  /** R, S, D, Z (zombie), X (dead), T … */
  state: string;
  pgrp: number;
  /** utime + stime + cutime + cstime in clock ticks: the process and the children it has reaped. */
  cpuTicks: number;
  /** Field 22, clock ticks after boot: with the pid it names one process, even after pid reuse. */
  startTime: string;
}

/**
 * USER_HZ, the unit of /proc's tick counts. It is 100 on every Linux architecture the agent
 * targets (it is part of the /proc ABI, independent of the kernel's HZ); Node cannot call sysconf.
 */
export const CLOCK_TICKS_PER_SECOND = 100;

export function parseProcStat(pid: number, text: string): ProcStat | undefined {
  // The command name (field 2) is in parentheses and may itself contain spaces and ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // fields[0] is field 3 (state): field N is fields[N - 3].
  const fields = text.slice(close + 2).split(' ');
  const field = (n: number): string => fields[n - 3] ?? '';
  const ticks = [14, 15, 16, 17].reduce((sum, n) => sum + Number(field(n)), 0);
  const startTime = field(22);
  if (!/^\d+$/.test(startTime) || !Number.isFinite(ticks)) return undefined;
  return { pid, state: field(3), pgrp: Number(field(5)), cpuTicks: ticks, startTime };
}

export async function readProcStat(pid: number): Promise<ProcStat | undefined> {
  try {
    return parseProcStat(pid, await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined; // gone (ENOENT/ESRCH)
  }
}

/** A zombie has exited; it only waits for a parent (possibly a PID 1 that never reaps) to collect it. */
export const isLiveState = (stat: ProcStat): boolean => stat.state !== 'Z' && stat.state !== 'X';

/** True when `pid` is alive and is the very process that was started (same start time; unknown never matches). */
export async function isSameLiveProcess(pid: number, startTime: string | null): Promise<boolean> {
  const stat = await readProcStat(pid);
  return stat !== undefined && isLiveState(stat) && startTime !== null && stat.startTime === startTime;
}

/** Live processes whose process group is `pgid`. */
export async function processGroupMembers(pgid: number): Promise<ProcStat[]> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const members: ProcStat[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readProcStat(Number(entry));
    if (stat !== undefined && stat.pgrp === pgid && isLiveState(stat)) members.push(stat);
  }
  return members;
}

/** Resident memory of a process in bytes (VmRSS), or 0 for a kernel thread or a vanished process. */
export async function readRssBytes(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match?.[1] !== undefined ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export async function readUptimeSeconds(): Promise<number> {
  const text = await readFile('/proc/uptime', 'utf8');
  return Number(text.split(' ')[0]);
}
