import { readFile } from 'node:fs/promises';

export interface CpuTimes {
  busy: number;
  total: number;
}

/** Aggregate CPU jiffies from /proc/stat, for a busy percentage between two readings. */
export async function readCpuTimes(): Promise<CpuTimes | undefined> {
  const text = await readFile('/proc/stat', 'utf8').catch(() => '');
  const fields = text.split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  if (fields.length < 4) return undefined;
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

export function cpuPercentBetween(previous: CpuTimes | undefined, current: CpuTimes | undefined): number {
  if (!previous || !current || current.total <= previous.total) return 0;
  return Math.round(((current.busy - previous.busy) / (current.total - previous.total)) * 1000) / 10;
}

/** Memory in use: MemTotal − MemAvailable, as `free` shows it. */
export async function readMemoryUsedBytes(): Promise<number> {
  const text = await readFile('/proc/meminfo', 'utf8').catch(() => '');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return Math.max(0, (kb('MemTotal') - kb('MemAvailable')) * 1024);
}
