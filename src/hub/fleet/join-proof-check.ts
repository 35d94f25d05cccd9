import { createHash, createPublicKey, verify } from 'node:crypto';
import { joinProofPayload, joinTokenId, type JoinRequest } from '../../protocol/index.js';

/** Does the request's signature verify with the Ed25519 key it carries? Malformed keys do not. */
export function joinSignatureValid(nonce: string, request: JoinRequest): boolean {
  try {
    const key = createPublicKey({ key: Buffer.from(request.publicKey, 'base64'), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'ed25519') return false;
    const payload = joinProofPayload({
      nonce,
      hardwareId: request.hardwareId,
      tokenId: joinTokenId(request.token),
      publicKey: request.publicKey,
      timestamp: request.timestamp,
    });
    return verify(null, payload, key, Buffer.from(request.signature, 'base64'));
  } catch {
    return false;
  }
}

/** A short, comparable name for a device key, shown to the technician who approves it. */
export function keyFingerprint(publicKey: string): string {
  return `SHA256:${createHash('sha256').update(Buffer.from(publicKey, 'base64')).digest('base64').replace(/=+$/, '').slice(0, 22)}`;
}
