import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { readFileIfExists, writeFileDurably } from '../../common/durable-file.js';

/**
 * A board's stable identity: the systemd machine id, else one generated once and kept in the
 * state folder. Boards whose machine id is cloned with the SD image should pass --hardware-id
 * (e.g. the SoC serial) so two boards are never one device.
 */
export async function resolveHardwareId(stateDir: string, override: string | undefined): Promise<string> {
  if (override) return override;
  for (const path of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    const id = (await readFileIfExists(path))?.trim();
    if (id && /^[a-f0-9]{32}$/.test(id)) return `machine-id:${id}`;
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
