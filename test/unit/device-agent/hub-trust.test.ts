import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { createLogger } from '../../../src/common/log.js';
import { HUB_CA_PATH, HubTrustError, certificateFingerprint } from '../../../src/common/tls-trust.js';
import { pinnedCaPath, resolveHubTrust } from '../../../src/device-agent/identity/hub-trust.js';
import { createCa, issueServerCertificate } from '../../../src/hub/tls/hub-ca.js';
import { makeTempDir } from '../../support/paths.js';

const now = new Date();
const ca = createCa(now);
const other = createCa(now, 'another hub');
const server = issueServerCertificate(ca, ['127.0.0.1'], now);
const fingerprint = certificateFingerprint(ca.cert);
const log = createLogger('test', 'error', () => undefined);

/** A hub's CA endpoint over https; counts requests, so a test can tell the pinned CA was used without asking. */
async function caEndpoint(): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const https: Server = createServer({ cert: server.cert, key: server.key }, (req, res) => {
    requests += 1;
    if (req.url === HUB_CA_PATH) res.end(ca.cert);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  const address = https.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `https://127.0.0.1:${port}`, requests: () => requests, close: () => new Promise((resolve) => https.close(() => resolve())) };
}

test('the CA is fetched untrusted, pinned when its fingerprint is the token\'s, and used from the pin afterwards', async (t) => {
  const dir = await makeTempDir('ep-trust-');
  const hub = await caEndpoint();
  t.teardown(async () => (await hub.close(), await dir.remove()));
  const trusted = await resolveHubTrust({ stateDir: dir.path, hubUrl: hub.url, caFingerprint: fingerprint, log });
  t.is(certificateFingerprint(trusted ?? ''), fingerprint);
  t.is(certificateFingerprint(await readFile(pinnedCaPath(dir.path), 'utf8')), fingerprint);
  const before = hub.requests();
  const again = await resolveHubTrust({ stateDir: dir.path, hubUrl: hub.url, log });
  t.is(certificateFingerprint(again ?? ''), fingerprint, 'a restart without the token keeps trusting the pinned CA');
  t.is(hub.requests(), before, 'without asking the hub');
});

test('a CA of another fingerprint is refused and nothing is pinned', async (t) => {
  const dir = await makeTempDir('ep-trust-');
  const hub = await caEndpoint();
  t.teardown(async () => (await hub.close(), await dir.remove()));
  const error = await t.throwsAsync(resolveHubTrust({ stateDir: dir.path, hubUrl: hub.url, caFingerprint: certificateFingerprint(other.cert), log }));
  t.true(error instanceof HubTrustError && error.code === 'ca-fingerprint-mismatch', String(error));
  await t.throwsAsync(readFile(pinnedCaPath(dir.path), 'utf8'));
});

test('a pinned CA is replaced only by one the new token vouches for', async (t) => {
  const dir = await makeTempDir('ep-trust-');
  const hub = await caEndpoint();
  t.teardown(async () => (await hub.close(), await dir.remove()));
  await writeFile(pinnedCaPath(dir.path), other.cert);
  const moved = await resolveHubTrust({ stateDir: dir.path, hubUrl: hub.url, caFingerprint: fingerprint, log });
  t.is(certificateFingerprint(moved ?? ''), fingerprint, 'the token names this hub\'s CA: the board moved hubs');
});

test('an https hub with no fingerprint and nothing pinned is refused, saying what to do; a plain hub needs no CA', async (t) => {
  const dir = await makeTempDir('ep-trust-');
  t.teardown(() => dir.remove());
  const error = await t.throwsAsync(resolveHubTrust({ stateDir: dir.path, hubUrl: 'https://127.0.0.1:1', log }));
  t.regex(error?.message ?? '', /carries no CA fingerprint.*edgepilot token create.*--hub-ca/);
  t.is(await resolveHubTrust({ stateDir: dir.path, hubUrl: 'http://127.0.0.1:1', log }), undefined);
  const given = join(dir.path, 'given-ca.pem');
  await writeFile(given, `junk before\n${ca.cert}`);
  t.is(certificateFingerprint((await resolveHubTrust({ stateDir: dir.path, hubUrl: 'https://127.0.0.1:1', caFile: given, log })) ?? ''), fingerprint, '--hub-ca');
});
