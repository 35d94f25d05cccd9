import si from 'systeminformation';
import type { Facts } from '../../protocol/index.js';

/** The part of the facts that systeminformation reads from the host. */
export type HostFacts = Pick<Facts, 'hostname' | 'os' | 'board' | 'cpu' | 'memory' | 'disk' | 'temperatureC'>;

/**
 * Reads the host with systeminformation. Runs in a short-lived child process (probe-main.ts),
 * not in the agent: systeminformation costs ~8 MB of RSS for as long as a process lives, and
 * facts are read once at start and then every few minutes.
 */
export async function readHostFacts(): Promise<HostFacts> {
  const [os, cpu, mem, fs, temp, system] = await Promise.all([
    si.osInfo(),
    si.cpu(),
    si.mem(),
    si.fsSize().catch(() => []),
    si.cpuTemperature().catch(() => ({ main: null })),
    si.system().catch(() => ({ manufacturer: '', model: '' })),
  ]);
  const root = fs.find((f) => f.mount === '/') ?? fs[0];
  const mainTemp = typeof temp.main === 'number' && Number.isFinite(temp.main) && temp.main > -80 ? Math.round(temp.main * 10) / 10 : null;
  return {
    hostname: os.hostname,
    os: { platform: os.platform, distro: os.distro, release: os.release, kernel: os.kernel },
    board: { manufacturer: system.manufacturer ?? '', model: system.model ?? '' },
    cpu: { model: `${cpu.manufacturer} ${cpu.brand}`.trim(), cores: Math.max(1, cpu.cores), ...(cpu.speed ? { speedMHz: Math.round(cpu.speed * 1000) } : {}) },
    memory: { totalBytes: mem.total },
    disk: { totalBytes: root?.size ?? 0, freeBytes: root?.available ?? 0 },
    temperatureC: mainTemp,
  };
}
