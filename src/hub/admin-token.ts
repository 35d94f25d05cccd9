import { join } from 'node:path';
import { hashSecret, randomSecret } from '../common/ids.js';
import { readFileIfExists, writeFileDurably } from '../common/durable-file.js';

/**
 * The admin token is created on first start and shown once; only its hash is kept, so a copy
 * of the data folder does not hand out fleet control.
 */
export async function loadOrCreateAdminToken(dataDir: string): Promise<{ hash: string; created?: string }> {
  const path = join(dataDir, 'admin-token.sha256');
  const existing = (await readFileIfExists(path))?.trim();
  if (existing && /^[a-f0-9]{64}$/.test(existing)) return { hash: existing };
  if (existing !== undefined) throw new Error(`${path} is damaged; delete it to create a new admin token`);
  const token = `ep_${randomSecret(32)}`;
  const hash = hashSecret(token);
  await writeFileDurably(path, `${hash}\n`);
  return { hash, created: token };
}
