import { join } from 'node:path';
import { hashSecret, randomSecret } from '../common/ids.js';
import { readFileIfExists, writeFileDurably } from '../common/durable-file.js';
import type { SharedSettings } from './store/repository.js';

const ADMIN_TOKEN_SETTING = 'adminTokenHash';

/**
 * Hubs sharing a store share one admin token: the first to start makes it (and shows it once),
 * the others find its hash; a token made by a hub that lost the race is never shown.
 */
async function loadOrCreateShared(shared: SharedSettings): Promise<{ hash: string; created?: string }> {
  const token = `ep_${randomSecret(32)}`;
  const { value, created } = await shared.getOrCreate(ADMIN_TOKEN_SETTING, hashSecret(token));
  return created ? { hash: value, created: token } : { hash: value };
}

/**
 * The admin token is created on first start and shown once; only its hash is kept, so a copy
 * of the data folder does not hand out fleet control.
 */
export async function loadOrCreateAdminToken(dataDir: string, shared?: SharedSettings): Promise<{ hash: string; created?: string }> {
  if (shared) return loadOrCreateShared(shared);
  const path = join(dataDir, 'admin-token.sha256');
  const existing = (await readFileIfExists(path))?.trim();
  if (existing && /^[a-f0-9]{64}$/.test(existing)) return { hash: existing };
  if (existing !== undefined) throw new Error(`${path} is damaged; delete it to create a new admin token`);
  const token = `ep_${randomSecret(32)}`;
  const hash = hashSecret(token);
  await writeFileDurably(path, `${hash}\n`);
  return { hash, created: token };
}
