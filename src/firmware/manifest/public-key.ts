/**
 * Is this text a public key that can check firmware signatures? Asked by the CLI before it
 * sends a key to the hub (`firmware trust`, `firmware untrust <file>`) and by the hub before
 * it stores one, so both name the same problem in the same words.
 */
import { createPublicKey } from 'node:crypto';
import { errorMessage } from '../../common/errors.js';

export type PublicKeyProblemCode = 'not-pem' | 'private-key' | 'unreadable' | 'not-ed25519';

export interface PublicKeyProblem {
  readonly code: PublicKeyProblemCode;
  /** Completes "<file> is …" / "publicKeyPem is …". */
  readonly message: string;
}

/** Why `pem` is not an Ed25519 public key in PEM form, or undefined if it is one. */
export function publicKeyProblem(pem: string): PublicKeyProblem | undefined {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    // A private key has no business on the hub or a gateway: refuse it rather than derive its public half.
    return { code: 'private-key', message: 'a private key, not a public one (give the .pub file of edgepilot firmware keygen)' };
  }
  if (!/-----BEGIN PUBLIC KEY-----/.test(pem)) {
    return { code: 'not-pem', message: 'not a PEM public key (no -----BEGIN PUBLIC KEY----- line)' };
  }
  let type: string | undefined;
  try {
    type = createPublicKey(pem).asymmetricKeyType;
  } catch (err) {
    return { code: 'unreadable', message: `not a PEM public key (${errorMessage(err).split('\n')[0] ?? 'unreadable'})` };
  }
  if (type !== 'ed25519') return { code: 'not-ed25519', message: `an ${type ?? 'unknown'} key; firmware is signed with Ed25519 keys` };
  return undefined;
}
