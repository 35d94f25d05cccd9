import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { readFileIfExists, writeFileDurably } from '../../common/durable-file.js';
import { joinProofPayload, type JoinProofFields } from '../../protocol/index.js';
import { errorMessage } from '../../common/errors.js';

/**
 * The device's own key pair: generated once on the board, the private half never leaves the
 * state folder. The hub stores the public half at the first join; a later join of the same
 * board must be signed with it, so a join token alone never gives anyone an existing identity.
 */
export interface DeviceKey {
  /** SPKI DER in base64, as sent in join requests. */
  readonly publicKey: string;
  sign(fields: Omit<JoinProofFields, 'publicKey'>): string;
}

export function deviceKeyPath(stateDir: string): string {
  return join(stateDir, 'device-key.pem');
}

function fromPrivateKey(privateKey: KeyObject): DeviceKey {
  const publicKey = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).toString('base64');
  return {
    publicKey,
    sign: (fields) => sign(null, joinProofPayload({ ...fields, publicKey }), privateKey).toString('base64'),
  };
}

/** A fresh key in memory (tests, and the first start before it is kept). */
export function generateDeviceKey(): { key: DeviceKey; pem: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { key: fromPrivateKey(privateKey), pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
}

/** Loads the state folder's key, or creates it durably (0600) on the first start. */
export async function loadOrCreateDeviceKey(stateDir: string): Promise<DeviceKey> {
  const path = deviceKeyPath(stateDir);
  const pem = await readFileIfExists(path);
  if (pem !== undefined) {
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(pem);
    } catch (err) {
      throw new Error(`${path} is not a private key (${errorMessage(err)}); remove it and approve the board again with 'edgepilot device approve'`);
    }
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${path} is not an Ed25519 key`);
    return fromPrivateKey(privateKey);
  }
  const generated = generateDeviceKey();
  await writeFileDurably(path, generated.pem);
  return generated.key;
}
