import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { readFileIfExists, writeFileDurably } from '../../common/durable-file.js';
import { rawPublicKey } from '../../protocol/index.js';

/**
 * The device's X25519 key that Secrets are sealed to. The identity key (device-key.ts) is Ed25519,
 * which signs but does not agree keys, so the agent keeps a second key beside it, made on the first
 * start of an agent that knows Secrets (an older agent's board gets one when it is upgraded) and
 * reported in its facts over its own authenticated MQTT session. The private half never leaves
 * the state folder.
 */
export interface BoxKey {
  privateKey: KeyObject;
  /** Raw public key, base64 (facts.boxKey). */
  publicKey: string;
}

export class BoxKeyError extends Error {
  readonly code = 'bad-box-key';
}

export async function loadOrCreateBoxKey(stateDir: string): Promise<BoxKey> {
  const path = join(stateDir, 'device-box-key.pem');
  const pem = await readFileIfExists(path);
  let privateKey: KeyObject;
  if (pem !== undefined) {
    try {
      privateKey = createPrivateKey(pem);
    } catch {
      throw new BoxKeyError(`${path} is not a private key; remove it (Secrets are then sealed to the new key the agent makes)`);
    }
    if (privateKey.asymmetricKeyType !== 'x25519') throw new BoxKeyError(`${path} is not an X25519 key`);
  } else {
    privateKey = generateKeyPairSync('x25519').privateKey;
    await writeFileDurably(path, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
  }
  return { privateKey, publicKey: rawPublicKey(privateKey).toString('base64') };
}
