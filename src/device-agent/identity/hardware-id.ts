import { createHash, randomBytes } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileIfExists, writeFileDurably } from '../../common/durable-file.js';

const MACHINE_ID_FILES = ['/etc/machine-id', '/var/lib/dbus/machine-id'];

/**
 * The hardware id of an agent: one per machine *and* state folder, so two agents on one
 * machine (the hub's own, plus one for another board with its own --state-dir) are two devices,
 * never one taking over the other. A hash: the machine id itself is not published.
 */
export function hardwareIdFor(machineId: string, stateDirRealPath: string): string {
  return `machine:${createHash('sha256').update(`${machineId}\0${stateDirRealPath}`).digest('hex').slice(0, 32)}`;
}

/**
 * A board's stable identity for joining: --hardware-id if given, else derived from the systemd
 * machine id and the state folder's real path, else one generated once and kept in the state
 * folder. Boards whose machine id is cloned with the SD image should pass --hardware-id (e.g.
 * the SoC serial) so two boards are never one device. An agent that already joined keeps the
 * id recorded in its identity.json (main.ts), so upgrading does not change it.
 */
export async function resolveHardwareId(stateDir: string, override: string | undefined, machineIdFiles = MACHINE_ID_FILES): Promise<string> {
  if (override) return override;
  for (const path of machineIdFiles) {
    const id = (await readFileIfExists(path))?.trim();
    if (id && /^[a-f0-9]{32}$/.test(id)) return hardwareIdFor(id, await realpath(stateDir));
  }
  const kept = join(stateDir, 'hardware-id');
  const existing = (await readFileIfExists(kept))?.trim();
  if (existing) return existing;
  const generated = `generated:${randomBytes(16).toString('hex')}`;
  await writeFileDurably(kept, `${generated}\n`);
  return generated;
}

export async function readBootId(): Promise<string> {
  return (await readFileIfExists('/proc/sys/kernel/random/boot_id'))?.trim() ?? randomBytes(16).toString('hex');
}
