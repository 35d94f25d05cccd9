// A hub holds one open file per device connection, and its own files (store shards, the observed
// journal, the audit log, TLS material) come from the same per-process limit. At the limit every
// open fails with EMFILE: the store could no longer write what it had acknowledged ("lazy flush
// failed: EMFILE"), found when 20,000 simulated devices met this machine's limit of 20,000. So the
// broker takes devices only up to the limit less a reserve for the hub's own files; a device
// refused then backs off and tries another hub, and the hub keeps working.

/** Files kept for the hub itself: store writes, API connections, the CLI, PostgreSQL and Redis. */
export const RESERVED_FILES = 512;

/** The soft "Max open files" of /proc/<pid>/limits; undefined when unknown or unlimited. */
export function parseOpenFilesLimit(limitsText: string): number | undefined {
  const line = limitsText.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  if (soft === undefined || !/^\d+$/.test(soft)) return undefined;
  return Number(soft);
}

/** How many connections the broker takes under a limit of `openFiles` (at least a few, so a tiny limit still serves). */
export function maxBrokerConnections(openFiles: number | undefined, reserved = RESERVED_FILES): number | undefined {
  if (openFiles === undefined) return undefined;
  return Math.max(16, openFiles - reserved);
}

/**
 * Connections the kernel may complete before the broker accepts them: as many as the system allows
 * (net.core.somaxconn caps it; 4096 by default since Linux 5.4). Node's default is 511. A
 * restarted hub's whole fleet knocks while its event loop is busy loading the store and admitting
 * the first devices; beyond the backlog the kernel drops the handshake. A dropped SYN is sent again
 * after 1, 3, 7, 15 s; a dropped final ACK leaves the device sending its CONNECT into a connection
 * the broker does not know yet, until its 30 s CONNACK timeout (seen in the reconnect bench: ~700
 * of 10,000 devices came back 30 s after their first attempt, the hub idle meanwhile).
 */
export const LISTEN_BACKLOG = 65_535;
