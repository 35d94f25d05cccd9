import type { Facts } from '../../src/protocol/index.js';

/** Plausible facts for a simulated device; arch and zone vary with the index. */
export function simulatedFacts(index: number): Facts {
  const arch = (['arm64', 'armv7', 'amd64'] as const)[index % 3] ?? 'arm64';
  return {
    hostname: `sim-${index}`,
    arch,
    os: { platform: 'linux', distro: 'Debian GNU/Linux', release: '12', kernel: '6.1.0' },
    board: { manufacturer: 'Simulated', model: arch === 'arm64' ? 'RK3588' : 'generic' },
    cpu: { model: 'sim', cores: 4 },
    memory: { totalBytes: 4 * 2 ** 30 },
    disk: { totalBytes: 32 * 2 ** 30, freeBytes: 16 * 2 ** 30 },
    temperatureC: null,
    runtimes: { docker: { available: false }, process: { available: true } },
    serialPorts: [],
    mcus: [],
    resources: {},
    images: [],
  };
}
