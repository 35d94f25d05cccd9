import forge from 'node-forge';
import { createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIP } from 'node:net';

/** A certificate and its private key, both PEM. */
export interface CertificateAndKey {
  cert: string;
  key: string;
}

const DAY_MS = 24 * 3600 * 1000;
/** The hub's CA outlives any board's service life; re-keying a fleet is a re-join of every device. */
const CA_VALIDITY_DAYS = 20 * 365;
/** Browsers cap server certificates at 398 days; our clients do not, but a shorter life limits a leaked key. */
export const SERVER_VALIDITY_DAYS = 397;

/**
 * Keys come from node:crypto (fast, native); node-forge only builds and signs the X.509
 * structure, which node:crypto cannot do. RSA because forge signs nothing else.
 */
function newKeyPair(): { forgePublic: forge.pki.PublicKey; pem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    forgePublic: forge.pki.publicKeyFromPem(publicKey.export({ format: 'pem', type: 'spki' }).toString()),
    pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

/**
 * What forge's cert.sign() does, with the RSA signature made by node:crypto: forge's own
 * big-number RSA took seconds per certificate on a busy machine, native signing milliseconds.
 */
function signCertificate(cert: forge.pki.Certificate, keyPem: string): void {
  const oid = forge.pki.oids['sha256WithRSAEncryption'] ?? '1.2.840.113549.1.1.11';
  cert.signatureOid = oid;
  cert.siginfo.algorithmOid = oid;
  // getTBSCertificate is public in node-forge but missing from its type definitions.
  const { getTBSCertificate } = forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 };
  const tbs = forge.asn1.toDer(getTBSCertificate(cert)).getBytes();
  cert.signature = sign('sha256', Buffer.from(tbs, 'binary'), createPrivateKey(keyPem)).toString('binary');
}

/** A positive serial (RFC 5280 §4.1.2.2): 16 random bytes with the top bit cleared. */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

export function createCa(now: Date, commonName = 'edgepilot hub CA'): CertificateAndKey {
  const keys = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.forgePublic;
  cert.serialNumber = serialNumber();
  // An hour back: a board whose clock lags a little still accepts a freshly made hub.
  cert.validity.notBefore = new Date(now.getTime() - 3600_000);
  cert.validity.notAfter = new Date(now.getTime() + CA_VALIDITY_DAYS * DAY_MS);
  const subject = [{ name: 'commonName', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  signCertificate(cert, keys.pem);
  return { cert: forge.pki.certificateToPem(cert), key: keys.pem };
}

/**
 * A server certificate for the hub's API and broker, signed by the CA. `names` are its DNS
 * names and IP addresses (subjectAltName; the common name is not checked by TLS clients).
 */
export function issueServerCertificate(ca: CertificateAndKey, names: readonly string[], now: Date): CertificateAndKey {
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const keys = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.forgePublic;
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = new Date(now.getTime() - 3600_000);
  cert.validity.notAfter = new Date(now.getTime() + SERVER_VALIDITY_DAYS * DAY_MS);
  cert.setSubject([{ name: 'commonName', value: names[0] ?? 'edgepilot hub' }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: names.map((name) => (isIP(name) ? { type: 7, ip: name } : { type: 2, value: name })) },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  signCertificate(cert, ca.key);
  return { cert: forge.pki.certificateToPem(cert), key: keys.pem };
}
