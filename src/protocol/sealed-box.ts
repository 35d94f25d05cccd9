import { createCipheriv, createDecipheriv, createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, type KeyObject } from 'node:crypto';
import type { SealedBox } from './schemas/config-object.js';

/**
 * Anonymous sealed box to an X25519 public key, from Node's crypto only: an ephemeral X25519 key
 * agrees a secret with the recipient's key, HKDF-SHA256 turns it into an AES-256-GCM key and IV,
 * and the recipient's key id plus the caller's context (e.g. `Secret/db/<version>`) are bound in as
 * associated data, so a box cannot be replayed as another object or opened as another device's.
 * Part of the contract: the hub seals, the agent opens, and both must agree on every byte.
 */

const INFO = 'edgepilot-sealed-box-v1';
// DER prefixes of X25519 keys (RFC 8410): raw 32 bytes follow.
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');

export class SealedBoxError extends Error {
  constructor(
    readonly code: 'wrong-recipient' | 'corrupt' | 'bad-key',
    message: string,
  ) {
    super(message);
  }
}

export function x25519PublicFromRaw(raw: Buffer): KeyObject {
  if (raw.length !== 32) throw new SealedBoxError('bad-key', `an X25519 public key is 32 bytes, not ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([SPKI_X25519, raw]), format: 'der', type: 'spki' });
}

export function x25519PrivateFromRaw(raw: Buffer): KeyObject {
  if (raw.length !== 32) throw new SealedBoxError('bad-key', `an X25519 private key is 32 bytes, not ${raw.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_X25519, raw]), format: 'der', type: 'pkcs8' });
}

export function rawPublicKey(key: KeyObject): Buffer {
  const der = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - 32);
}

/** The id a box names its recipient by: the first 16 hex digits of sha256 of the raw public key. */
export function boxKeyId(publicRaw: Buffer): string {
  return createHash('sha256').update(publicRaw).digest('hex').slice(0, 16);
}

function keys(shared: Buffer, epk: Buffer, recipient: Buffer, keyId: string): { key: Buffer; iv: Buffer } {
  const okm = Buffer.from(hkdfSync('sha256', shared, Buffer.concat([epk, recipient]), `${INFO}/${keyId}`, 44));
  return { key: okm.subarray(0, 32), iv: okm.subarray(32, 44) };
}

/**
 * Seals `plaintext` to the recipient's raw X25519 public key. `ephemeralSeed` (32 bytes) makes the
 * box deterministic for the same inputs: the hub derives it from its data key and the object's
 * version, so an unchanged Secret gives an unchanged desired document (no republish per pass).
 */
export function sealBox(plaintext: Buffer, recipientPublicRaw: Buffer, context: string, ephemeralSeed?: Buffer): SealedBox {
  const recipient = x25519PublicFromRaw(recipientPublicRaw);
  const ephemeral = ephemeralSeed ? x25519PrivateFromRaw(ephemeralSeed) : generateKeyPairSync('x25519').privateKey;
  const epk = rawPublicKey(ephemeral);
  const keyId = boxKeyId(recipientPublicRaw);
  const shared = diffieHellman({ privateKey: ephemeral, publicKey: recipient });
  const { key, iv } = keys(shared, epk, recipientPublicRaw, keyId);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(`${INFO}\n${keyId}\n${context}`));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { v: 1, keyId, epk: epk.toString('base64'), iv: iv.toString('base64'), ct: ct.toString('base64') };
}

/** Opens a box with the recipient's private key; throws SealedBoxError unless it is this key's and intact. */
export function openSealedBox(box: SealedBox, recipientPrivate: KeyObject, context: string): Buffer {
  const recipientRaw = rawPublicKey(recipientPrivate);
  const keyId = boxKeyId(recipientRaw);
  if (box.keyId !== keyId) throw new SealedBoxError('wrong-recipient', `sealed to key ${box.keyId}, not to this device's key ${keyId}`);
  const epk = Buffer.from(box.epk, 'base64');
  const shared = diffieHellman({ privateKey: recipientPrivate, publicKey: x25519PublicFromRaw(epk) });
  const { key, iv } = keys(shared, epk, recipientRaw, keyId);
  if (!iv.equals(Buffer.from(box.iv, 'base64'))) throw new SealedBoxError('corrupt', 'the box does not match its key (iv)');
  const ct = Buffer.from(box.ct, 'base64');
  if (ct.length < 16) throw new SealedBoxError('corrupt', 'the box is too short');
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(`${INFO}\n${keyId}\n${context}`));
  decipher.setAuthTag(ct.subarray(ct.length - 16));
  try {
    return Buffer.concat([decipher.update(ct.subarray(0, ct.length - 16)), decipher.final()]);
  } catch {
    throw new SealedBoxError('corrupt', 'the box failed authentication (tampered, or sealed for another object)');
  }
}
