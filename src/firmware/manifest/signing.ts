/**
 * Ed25519 signatures over the canonical manifest (RFC 8032 via node:crypto).
 * Keys travel as PEM (SPKI public, PKCS#8 private). A key id lets a device holding
 * several trusted keys (rotation) pick the right one without trying them all.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { canonicalJson } from './manifest.js';

export interface ManifestSignature {
  /** keyIdOf(public key) of the signer. */
  readonly keyId: string;
  /** Base64 Ed25519 signature of the UTF-8 canonical JSON of the manifest. */
  readonly value: string;
}

export interface SigningKeyPair {
  readonly keyId: string;
  readonly publicKeyPem: string;
  readonly privateKeyPem: string;
}

export function generateSigningKeyPair(): SigningKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    keyId: keyIdOf(publicKey),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** First 16 hex digits of keyFingerprint: short enough to print, long enough to tell keys apart. */
export function keyIdOf(key: KeyObject | string): string {
  return keyFingerprint(key).slice(0, 16);
}

/** Lower-case hex sha256 over the raw 32-byte Ed25519 public key. */
export function keyFingerprint(key: KeyObject | string): string {
  const publicKey = toPublicKey(key);
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || jwk.x === undefined) throw new TypeError('not an Ed25519 key');
  return createHash('sha256').update(Buffer.from(jwk.x, 'base64url')).digest('hex');
}

/** Sign any JSON value (normally a FirmwareManifest) with an Ed25519 private key. */
export function signManifest(manifest: unknown, privateKey: KeyObject | string): ManifestSignature {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  if (key.asymmetricKeyType !== 'ed25519') throw new TypeError('manifest signing needs an Ed25519 private key');
  // Ed25519 hashes internally: the algorithm argument must be null.
  const value = sign(null, Buffer.from(canonicalJson(manifest), 'utf8'), key).toString('base64');
  return { keyId: keyIdOf(key), value };
}

/** True if `signature` is a valid signature of `manifest` by `publicKey`. */
export function verifyManifestSignature(manifest: unknown, signature: ManifestSignature, publicKey: KeyObject | string): boolean {
  const key = toPublicKey(publicKey);
  const raw = Buffer.from(signature.value, 'base64');
  if (raw.length !== 64) return false; // Ed25519 signatures are always 64 bytes
  try {
    return verify(null, Buffer.from(canonicalJson(manifest), 'utf8'), key, raw);
  } catch {
    return false;
  }
}

function toPublicKey(key: KeyObject | string): KeyObject {
  if (typeof key === 'string') return createPublicKey(key); // also accepts a private PEM
  return key.type === 'private' ? createPublicKey(key) : key;
}
