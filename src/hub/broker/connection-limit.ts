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
