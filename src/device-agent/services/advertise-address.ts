import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

/** Interfaces a container engine or VPN makes: other devices do not reach this one there. */
const VIRTUAL = /^(docker|br-|veth|virbr|cni|flannel|cali|lxc|tun|tap)/;

/** The interface of the IPv4 default route (/proc/net/route), if there is one. */
function defaultRouteInterface(read: () => string): string | undefined {
  try {
    for (const line of read().split('\n').slice(1)) {
      const [iface, destination, , , , , , mask] = line.trim().split(/\s+/);
      if (destination === '00000000' && mask === '00000000' && iface) return iface;
    }
  } catch {
    // No /proc (not Linux): fall back to the interface list alone.
  }
  return undefined;
}

/**
 * Where other devices reach this one, reported in facts for service endpoints (issue 14):
 * `--advertise-address`, else the IPv4 address of the default route's interface, else the first
 * non-internal IPv4 of an interface that is not a container bridge, else none (its instances
 * are then no endpoints, and `describe service` says why).
 */
export function advertisedAddress(configured: string | undefined, interfaces = networkInterfaces(), readRoutes: () => string = () => readFileSync('/proc/net/route', 'utf8')): string | undefined {
  if (configured !== undefined) return configured;
  const ipv4 = (name: string): string | undefined => interfaces[name]?.find((i) => i.family === 'IPv4' && !i.internal)?.address;
  const viaDefault = defaultRouteInterface(readRoutes);
  if (viaDefault !== undefined && ipv4(viaDefault) !== undefined) return ipv4(viaDefault);
  for (const name of Object.keys(interfaces).sort()) {
    const address = VIRTUAL.test(name) ? undefined : ipv4(name);
    if (address !== undefined) return address;
  }
  return undefined;
}
