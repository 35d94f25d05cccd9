import type { Arch } from '../../protocol/index.js';

/** Node's process.arch names → the names fleets use (Docker/OCI platform names). */
export function normalizeArch(nodeArch: string, armVersion?: string | number): Arch {
  switch (nodeArch) {
    case 'arm64':
      return 'arm64';
    case 'arm':
      return String(armVersion) === '6' ? 'armv6' : 'armv7';
    case 'x64':
      return 'amd64';
    case 'ia32':
      return '386';
    case 'riscv64':
      return 'riscv64';
    default:
      return 'unknown';
  }
}
