import { hostname as osHostname } from 'node:os';
import { readFile } from 'node:fs/promises';
import { factsSchema, type Facts } from '../../protocol/index.js';
import { normalizeArch } from './arch.js';
import { probeDocker } from './docker-probe.js';
import { listSerialPorts } from './serial-ports.js';
import type { HostFacts } from './host-probe.js';
import { errorMessage } from '../../common/errors.js';

export interface CollectOptions {
  dockerSocket: string;
  /** Reads the host (systeminformation), normally in a child process: see host-probe.ts. */
  readHost: () => Promise<HostFacts>;
  /** Fields that replace collected ones (tests and simulators claim other hardware). */
  overrides?: Partial<Facts>;
  /** Contributions of parts of the agent (attached MCUs from the gateway, images from the runtime). */
  extra?: Pick<Partial<Facts>, 'mcus' | 'images' | 'resources' | 'address'>;
}

/** Everything the device is: host facts plus what the agent itself knows (runtimes, ports, MCUs). */
export async function collectFacts(options: CollectOptions): Promise<Facts> {
  const [host, docker, serialPorts] = await Promise.all([options.readHost(), probeDocker(options.dockerSocket), listSerialPorts()]);
  const armVersion = (process.config.variables as { arm_version?: string | number }).arm_version;
  const collected: Facts = {
    ...host,
    hostname: host.hostname || osHostname(),
    arch: normalizeArch(process.arch, armVersion),
    runtimes: { docker: docker.version ? { available: docker.available, version: docker.version } : { available: docker.available }, process: { available: true } },
    serialPorts,
    mcus: options.extra?.mcus ?? [],
    resources: options.extra?.resources ?? {},
    images: options.extra?.images ?? [],
    ...(options.extra?.address !== undefined ? { address: options.extra.address } : {}),
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
    throw new Error(`facts file ${path}: ${errorMessage(err)}`);
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
