import { hostname as osHostname } from 'node:os';
import { readFile } from 'node:fs/promises';
import { factsSchema, type Facts } from '../../protocol/index.js';
import { normalizeArch } from './arch.js';
import { probeDocker } from './docker-probe.js';
import { listSerialPorts } from './serial-ports.js';

export interface CollectOptions {
  dockerSocket: string;
  /** Fields that replace collected ones (tests and simulators claim other hardware). */
  overrides?: Partial<Facts>;
  /** Contributions of parts of the agent (attached MCUs from the gateway, images from the runtime). */
  extra?: Pick<Partial<Facts>, 'mcus' | 'images' | 'resources'>;
}

/**
 * Reads what this device is. systeminformation is imported on first use, not at agent start,
 * and only the calls whose answers we report are made.
 */
export async function collectFacts(options: CollectOptions): Promise<Facts> {
  const si = await import('systeminformation');
  const [os, cpu, mem, fs, temp, system, docker, serialPorts] = await Promise.all([
    si.osInfo(),
    si.cpu(),
    si.mem(),
    si.fsSize().catch(() => []),
    si.cpuTemperature().catch(() => ({ main: null })),
    si.system().catch(() => ({ manufacturer: '', model: '' })),
    probeDocker(options.dockerSocket),
    listSerialPorts(),
  ]);
  const root = fs.find((f) => f.mount === '/') ?? fs[0];
  const armVersion = (process.config.variables as { arm_version?: string | number }).arm_version;
  const mainTemp = typeof temp.main === 'number' && Number.isFinite(temp.main) && temp.main > -80 ? Math.round(temp.main * 10) / 10 : null;
  const collected: Facts = {
    hostname: os.hostname || osHostname(),
    arch: normalizeArch(process.arch, armVersion),
    os: { platform: os.platform, distro: os.distro, release: os.release, kernel: os.kernel },
    board: { manufacturer: system.manufacturer ?? '', model: system.model ?? '' },
    cpu: { model: `${cpu.manufacturer} ${cpu.brand}`.trim(), cores: Math.max(1, cpu.cores), ...(cpu.speed ? { speedMHz: Math.round(cpu.speed * 1000) } : {}) },
    memory: { totalBytes: mem.total },
    disk: { totalBytes: root?.size ?? 0, freeBytes: root?.available ?? 0 },
    temperatureC: mainTemp,
    runtimes: { docker: docker.version ? { available: docker.available, version: docker.version } : { available: docker.available }, process: { available: true } },
    serialPorts,
    mcus: options.extra?.mcus ?? [],
    resources: options.extra?.resources ?? {},
    images: options.extra?.images ?? [],
  };
  const merged = mergeFacts(collected, options.overrides ?? {});
  const checked = factsSchema.safeParse(merged);
  if (!checked.success) throw new Error(`facts are invalid: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return checked.data;
}

/** Overrides replace whole top-level fields, except objects, which are merged one level deep. */
export function mergeFacts(base: Facts, overrides: Partial<Facts>): Facts {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    const current = out[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object' && !Array.isArray(current)
        ? { ...current, ...value }
        : value;
  }
  return out as Facts;
}

export async function readFactsOverrides(path: string): Promise<Partial<Facts>> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new Error(`facts file ${path}: ${(err as Error).message}`);
  }
  const parsed = factsSchema.partial().safeParse(raw);
  if (!parsed.success) throw new Error(`facts file ${path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** Facts minus volatile readings: a new temperature or a few MB of disk are not "a change". */
export function factsFingerprint(facts: Facts): string {
  const { temperatureC: _t, disk, ...stable } = facts;
  return JSON.stringify({ ...stable, diskTotal: disk.totalBytes });
}
