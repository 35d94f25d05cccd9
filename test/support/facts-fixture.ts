import type { Facts } from '../../src/protocol/index.js';

/** Facts of an RK3588-class gateway, for tests that speak the protocol without an agent. */
export function gatewayFacts(overrides: Partial<Facts> = {}): Facts {
  return {
    hostname: 'rk3588-test',
    arch: 'arm64',
    os: { platform: 'linux', distro: 'Debian GNU/Linux', release: '12', kernel: '6.1.0-rk3588' },
    board: { manufacturer: 'Radxa', model: 'ROCK 5B' },
    cpu: { model: 'ARM Cortex-A76/A55', cores: 8, speedMHz: 2400 },
    memory: { totalBytes: 16 * 2 ** 30 },
    disk: { totalBytes: 64 * 2 ** 30, freeBytes: 40 * 2 ** 30 },
    temperatureC: 45.5,
    runtimes: { docker: { available: true, version: '24.0.5' }, process: { available: true } },
    serialPorts: [{ path: '/dev/ttyUSB0' }],
    mcus: [],
    resources: { 'rk3588.npu': 1 },
    images: [],
    ...overrides,
  };
}
