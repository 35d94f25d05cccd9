import test from 'ava';
import { X509Certificate } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { certificateFingerprint } from '../../../src/common/tls-trust.js';
import { createCa, issueServerCertificate } from '../../../src/hub/tls/hub-ca.js';
import { HubTlsError, loadOrCreateHubTls, needsNewServerCertificate } from '../../../src/hub/tls/tls-material.js';
import { makeTempDir } from '../../support/paths.js';

const now = new Date('2026-11-30T12:00:00Z');
const names = ['localhost', '127.0.0.1', '::1', 'fd00::2', 'hub.plant-3'];

test('the first start makes a CA and a server certificate for every name, keys 0600; the next start keeps both', async (t) => {
  const dir = await makeTempDir('ep-tls-unit-');
  t.teardown(() => dir.remove());
  const first = await loadOrCreateHubTls(dir.path, { names, now });
  const server = new X509Certificate(first.cert);
  const ca = new X509Certificate(first.ca);
  t.true(ca.ca, 'the CA is a CA');
  t.false(server.ca);
  t.true(server.checkIssued(ca) && server.verify(ca.publicKey), 'signed by the CA');
  t.true(server.checkHost('hub.plant-3') !== undefined && server.checkIP('127.0.0.1') !== undefined && server.checkIP('::1') !== undefined);
  t.is(first.caFingerprint, certificateFingerprint(first.ca));
  for (const key of ['ca-key.pem', 'server-key.pem']) t.is((await stat(join(dir.path, 'tls', key))).mode & 0o777, 0o600, key);

  // IPv6 names are printed uncompressed by X509Certificate: that must not look like a missing name.
  const second = await loadOrCreateHubTls(dir.path, { names, now });
  t.is(second.cert, first.cert, 'nothing is made again');
  t.is(second.ca, first.ca);
});

test('a new name gets a new server certificate from the same CA (tokens handed out stay good)', async (t) => {
  const dir = await makeTempDir('ep-tls-unit-');
  t.teardown(() => dir.remove());
  const first = await loadOrCreateHubTls(dir.path, { names, now });
  const second = await loadOrCreateHubTls(dir.path, { names: [...names, '10.3.0.5'], now });
  t.not(second.cert, first.cert);
  t.is(second.caFingerprint, first.caFingerprint);
  t.truthy(new X509Certificate(second.cert).checkIP('10.3.0.5'));
});

test('a server certificate close to expiry or from another CA is made again', (t) => {
  const ca = createCa(now);
  const cert = issueServerCertificate(ca, names, now).cert;
  t.false(needsNewServerCertificate(cert, ca.cert, names, now));
  t.true(needsNewServerCertificate(cert, ca.cert, names, new Date(now.getTime() + 380 * 24 * 3600 * 1000)), 'within 30 days of expiry');
  t.true(needsNewServerCertificate(cert, createCa(now).cert, names, now), 'another CA');
});

test('given certificates must come from the given CA', async (t) => {
  const dir = await makeTempDir('ep-tls-unit-');
  t.teardown(() => dir.remove());
  const ca = createCa(now);
  const server = issueServerCertificate(ca, names, now);
  const given = await loadOrCreateHubTls(dir.path, { names, now, given: { ...server, ca: ca.cert } });
  t.is(given.caFingerprint, certificateFingerprint(ca.cert));
  const error = await t.throwsAsync(loadOrCreateHubTls(dir.path, { names, now, given: { ...server, ca: createCa(now).cert } }));
  t.true(error instanceof HubTlsError && error.code === 'tls-cert-not-from-ca');
});
