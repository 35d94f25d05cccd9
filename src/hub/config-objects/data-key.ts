import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileIfExists, writeFileDurably } from '../../common/durable-file.js';
import type { SharedSettings } from '../store/repository.js';

/**
 * The hub's key for Secrets at rest: 32 random bytes (hex) in `<data>/secrets.key` (0600), made on
 * the first start, or a key file given with `--secret-key-file` (kept apart from the data folder, so
 * a copy of the data folder alone holds ciphertext only).
 */
export class DataKeyError extends Error {
  readonly code = 'bad-data-key';
}

export async function loadOrCreateDataKey(dataDir: string, keyFile?: string): Promise<Buffer> {
  if (keyFile !== undefined) {
    let text: string;
    try {
      text = await readFile(keyFile, 'utf8');
    } catch {
      throw new DataKeyError(`--secret-key-file ${keyFile}: cannot read it`);
    }
    return parseKey(text, `--secret-key-file ${keyFile}`);
  }
  const path = join(dataDir, 'secrets.key');
  const existing = await readFileIfExists(path);
  if (existing !== undefined) return parseKey(existing, path);
  const key = randomBytes(32);
  await writeFileDurably(path, `${key.toString('hex')}\n`);
  return key;
}

const KEY_FINGERPRINT_SETTING = 'secretKeyFingerprint';

/** Names a key without revealing it (a hash of 32 random bytes, under a label of its own). */
export function dataKeyFingerprint(key: Buffer): string {
  return createHash('sha256').update('edgepilot secret key fingerprint\n').update(key).digest('hex').slice(0, 16);
}

/**
 * Hubs sharing a store (PostgreSQL) must encrypt Secrets under one key: the leader seals every
 * device's Secrets, whichever hub stored them. The first hub records its key's fingerprint; a
 * hub with another key refuses to start, saying which, instead of failing each delivery later.
 */
export async function checkSharedDataKey(key: Buffer, shared: SharedSettings | undefined, where: string): Promise<void> {
  if (!shared) return;
  const mine = dataKeyFingerprint(key);
  const { value } = await shared.getOrCreate(KEY_FINGERPRINT_SETTING, mine);
  if (value !== mine) {
    throw new DataKeyError(
      `${where} (fingerprint ${mine}) is not the secret key of the hubs sharing this store (fingerprint ${value}): they could not read each other's Secrets. Start every hub with the same --secret-key-file`,
    );
  }
}

function parseKey(text: string, where: string): Buffer {
  const hex = text.trim();
  if (!/^[a-f0-9]{64}$/i.test(hex)) throw new DataKeyError(`${where}: a secret key is 64 hex digits (32 bytes); make one with: openssl rand -hex 32`);
  return Buffer.from(hex, 'hex');
}

/** A Secret's values as stored: AES-256-GCM under the data key, the Secret's name bound in. */
export interface EncryptedValues {
  iv: string;
  /** Ciphertext and 16-byte tag, base64. */
  ct: string;
}

export function encryptAtRest(dataKey: Buffer, name: string, plaintext: Buffer): EncryptedValues {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
  cipher.setAAD(Buffer.from(`edgepilot-secret-at-rest-v1\n${name}`));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { iv: iv.toString('base64'), ct: ct.toString('base64') };
}

export function decryptAtRest(dataKey: Buffer, name: string, stored: EncryptedValues): Buffer {
  const ct = Buffer.from(stored.ct, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(stored.iv, 'base64'));
  decipher.setAAD(Buffer.from(`edgepilot-secret-at-rest-v1\n${name}`));
  decipher.setAuthTag(ct.subarray(ct.length - 16));
  try {
    return Buffer.concat([decipher.update(ct.subarray(0, ct.length - 16)), decipher.final()]);
  } catch {
    throw new DataKeyError(`secret ${name} cannot be decrypted with this hub's secret key (was the hub started with another --secret-key-file?)`);
  }
}
