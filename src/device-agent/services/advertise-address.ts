import { networkInterfaces } from 'node:os';

/**
 * Where other devices reach this one, reported in facts for service endpoints (issue 14):
 * `--advertise-address`, else the first non-internal IPv4 address (a board has one on its LAN),
 * else none (its instances are then no endpoints, and `describe service` says why).
 */
export function advertisedAddress(configured: string | undefined, interfaces = networkInterfaces()): string | undefined {
  if (configured !== undefined) return configured;
  for (const name of Object.keys(interfaces).sort()) {
    for (const info of interfaces[name] ?? []) if (info.family === 'IPv4' && !info.internal) return info.address;
  }
  return undefined;
}
