import { realpath, stat } from 'node:fs/promises';
import type Dockerode from 'dockerode';

/**
 * How serial devices reach a container. A real port (`/dev/ttyUSB0`, `/dev/serial/by-id/…`) is a
 * Docker device mapping: runc creates the node inside the container and the device cgroup
 * allows it. A pseudo-terminal (`/dev/pts/N`, what emulated MCUs on the bench use) cannot go that
 * way — measured here: runc cannot create a node inside the container's own devpts (EACCES), and
 * a pts node created anywhere else fails to open with EIO because the kernel only opens a pty
 * slave through its devpts mount. So a pty is bind-mounted (keeping its devpts identity) to a
 * path outside /dev/pts, and the device cgroup is opened for exactly that major:minor.
 *
 * An entry may name the path inside the container Docker-style, `/dev/pts/3:/dev/ttyGPS`;
 * without one, an entry keeps its path (a real port, or a link such as `/dev/ttyUSB0` →
 * `/dev/pts/4` that socat or udev made), and a bare `/dev/pts/N` appears as `/dev/ttyPTS<N>`
 * (a bind mount cannot land inside the container's own devpts).
 */
export interface SerialPassthrough {
  devices: Dockerode.DeviceMapping[];
  binds: string[];
  cgroupRules: string[];
  /** Where each entry shows up inside the container, for the log. */
  placements: string[];
}

export function parseSerialEntry(entry: string): { hostPath: string; containerPath: string | undefined } {
  const colon = entry.indexOf(':');
  if (colon < 0) return { hostPath: entry, containerPath: undefined };
  return { hostPath: entry.slice(0, colon), containerPath: entry.slice(colon + 1) || undefined };
}

/** Linux dev_t → major/minor (glibc's gnu_dev_major/minor encoding). */
function majorMinor(rdev: bigint): { major: bigint; minor: bigint } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { major, minor };
}

export async function resolveSerialDevices(entries: readonly string[]): Promise<SerialPassthrough> {
  const result: SerialPassthrough = { devices: [], binds: [], cgroupRules: [], placements: [] };
  for (const entry of entries) {
    const { hostPath, containerPath } = parseSerialEntry(entry);
    // A path that does not resolve is handed to Docker as is: its create error names the path.
    const resolved = await realpath(hostPath).catch(() => hostPath);
    const pty = /^\/dev\/pts\/(\d+)$/.exec(resolved);
    if (pty) {
      const info = await stat(resolved, { bigint: true });
      const { major, minor } = majorMinor(info.rdev);
      const target = containerPath ?? (hostPath === resolved ? `/dev/ttyPTS${pty[1]}` : hostPath);
      result.binds.push(`${resolved}:${target}:rw`);
      result.cgroupRules.push(`c ${major}:${minor} rwm`);
      result.placements.push(`${hostPath} (pseudo-terminal ${resolved}) → ${target}`);
    } else {
      const target = containerPath ?? hostPath;
      result.devices.push({ PathOnHost: hostPath, PathInContainer: target, CgroupPermissions: 'rwm' });
      result.placements.push(`${hostPath} → ${target}`);
    }
  }
  return result;
}
