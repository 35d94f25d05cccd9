import { open, readdir, readFile } from 'node:fs/promises';
import { errnoCode } from '../../../common/errors.js';

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

/**
 * A /proc file's text. /proc reports every file's size as 0, so `readFile` reads it into a fresh
 * 64 KB buffer; one read into a small one does instead (a stat line is ~300 bytes, a status file
 * ~1.5 KB). That matters because the agent reads one per process on the machine for every group
 * lookup: 64 KB each made ~15 MB of garbage per /proc scan, scavenges every few milliseconds with
 * CronJobs running, and a higher RSS high-water mark (bench/RESULTS.md).
 */
export async function readProcFile(path: string): Promise<string> {
  const SMALL = 4096;
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(SMALL);
    const { bytesRead } = await handle.read(buffer, 0, SMALL, 0);
    if (bytesRead < SMALL) return buffer.toString('utf8', 0, bytesRead);
  } finally {
    await handle.close();
  }
  return readFile(path, 'utf8'); // longer than expected: read it whole
}

export async function readProcStat(pid: number): Promise<ProcStat | undefined> {
  try {
    return parseProcStat(pid, await readProcFile(`/proc/${pid}/stat`));
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

/** Every process's stat line, or what could be read of them (a process may vanish mid-scan). */
export type ProcScan = () => Promise<ProcStat[]>;

async function scanAllProcesses(): Promise<ProcStat[]> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const stats: ProcStat[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readProcStat(Number(entry));
    if (stat !== undefined) stats.push(stat);
  }
  return stats;
}

// Callers that ask while a scan is under way share it (usage samples of every instance at once
// would otherwise scan /proc once each); a caller that asks after it ended gets a fresh one.
let scanInFlight: Promise<ProcStat[]> | undefined;
const sharedScan: ProcScan = () => {
  scanInFlight ??= scanAllProcesses().finally(() => (scanInFlight = undefined));
  return scanInFlight;
};

/** Whether any process (zombies included) is in group `pgid`: kill(2) with signal 0 asks the kernel without a /proc scan. */
function groupMayExist(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) !== 'ESRCH'; // EPERM: it exists, it is not ours
  }
}

/**
 * Live processes whose process group is `pgid`. An empty group (the common answer once an
 * instance exited) is known from one kill(2) without reading /proc; otherwise /proc is scanned,
 * because zombies (which kill(2) still counts) must not count as members.
 */
export async function processGroupMembers(pgid: number, scan: ProcScan = sharedScan, mayExist: (pgid: number) => boolean = groupMayExist): Promise<ProcStat[]> {
  if (!mayExist(pgid)) return [];
  return (await scan()).filter((stat) => stat.pgrp === pgid && isLiveState(stat));
}

/** Resident memory of a process in bytes (VmRSS), or 0 for a kernel thread or a vanished process. */
export async function readRssBytes(pid: number): Promise<number> {
  try {
    const status = await readProcFile(`/proc/${pid}/status`);
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match?.[1] !== undefined ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export async function readUptimeSeconds(): Promise<number> {
  const text = await readProcFile('/proc/uptime');
  return Number(text.split(' ')[0]);
}
