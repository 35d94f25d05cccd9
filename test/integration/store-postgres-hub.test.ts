// `edgepilot hub --store postgres://...`: real hub processes on PostgreSQL (issue 15).
import test from 'ava';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createJoinToken, startAgentProcess, startHubProcess, type HubHandle } from '../support/fleet.js';
import { makeTempDir } from '../support/paths.js';
import { runCli, type CliResult } from '../support/processes.js';
import { dedicatedCluster, freshDatabase, sharedSecretKeyFile } from '../support/postgres.js';
import { waitFor } from '../support/wait.js';
import { waitForInstances, workloads } from '../support/workloads.js';
import type { ManagedProcess } from '../support/processes.js';

const workloadYaml = (name: string): string => `apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: ${name} }
spec:
  replicas: 1
  template: { runtime: process, command: [sleep, "100"] }
`;

async function apply(hub: HubHandle, dir: string, name: string): Promise<CliResult> {
  const path = join(dir, `${name}.yaml`);
  await writeFile(path, workloadYaml(name));
  return hub.cli(['apply', '-f', path]);
}

/** The answer of /healthz: 200 and `ok`, or 503 and `degraded` with the reason. */
async function healthz(hub: HubHandle): Promise<{ ok: boolean; status: string; reason?: string; http: number }> {
  const answer = await fetch(`${hub.apiUrl}/healthz`);
  return { ...((await answer.json()) as { ok: boolean; status: string; reason?: string }), http: answer.status };
}

test('two hubs on one PostgreSQL store: what is applied through one is read through the other; no store files in the data folder', async (t) => {
  const tmp = await makeTempDir('ep-pg-hubs-');
  const url = await freshDatabase(t);
  const hubs: HubHandle[] = [];
  t.teardown(async () => {
    await Promise.all(hubs.map((h) => h.proc.kill('SIGKILL')));
    await tmp.remove();
  });
  const key = await sharedSecretKeyFile(tmp.path);
  const a = await startHubProcess({ root: join(tmp.path, 'a'), dataDir: join(tmp.path, 'a', 'hub'), extraArgs: ['--store', url, ...key] });
  hubs.push(a);
  // The admin token made by the first hub is the second's too (its hash is in the shared store): b's CLI uses it.
  const b = await startHubProcess({ root: join(tmp.path, 'b'), dataDir: join(tmp.path, 'b', 'hub'), extraArgs: ['--store', url, ...key], adminToken: a.adminToken });
  hubs.push(b);
  t.notRegex(b.proc.output, /Admin token/, 'the second hub makes no admin token of its own');
  t.is((await apply(a, tmp.path, 'web')).code, 0);
  t.deepEqual((await workloads(b)).map((w) => w.name), ['web']);
  t.false(existsSync(join(tmp.path, 'a', 'hub', 'store.json')), 'the store is PostgreSQL, not lowdb files');
  t.is((await healthz(a)).status, 'ok');
  // A third hub with a Secret key of its own could not read the others' Secrets: it refuses to start.
  const other = await runCli(['hub', '--data-dir', join(tmp.path, 'c', 'hub'), '--store', url, '--listen', '127.0.0.1:0', '--mqtt-listen', '127.0.0.1:0', '--no-write-config', '--insecure'], { HOME: join(tmp.path, 'c') });
  t.not(other.code, 0);
  t.regex(other.stderr, /secrets\.key \(fingerprint [0-9a-f]{16}\) is not the secret key of the hubs sharing this store \(fingerprint [0-9a-f]{16}\).*same --secret-key-file/);
});

test('a hub on PostgreSQL runs a fleet: an agent joins, a workload is placed and runs, and all of it is in the database after a restart', async (t) => {
  const tmp = await makeTempDir('ep-pg-fleet-');
  const url = await freshDatabase(t);
  const procs: ManagedProcess[] = [];
  t.teardown(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await tmp.remove();
  });
  const key = await sharedSecretKeyFile(tmp.path);
  const hub = await startHubProcess({ root: tmp.path, dataDir: join(tmp.path, 'hub'), extraArgs: ['--store', url, ...key] });
  procs.push(hub.proc);
  const token = await createJoinToken(hub);
  procs.push(startAgentProcess({ name: 'agent', root: tmp.path, hubUrl: hub.apiUrl, joinToken: token, stateDir: join(tmp.path, 'agent'), hardwareId: 'pg-board-1' }));
  await waitFor('device online', async () => (await hub.devices()).find((d) => d.state === 'online'), 120_000, 300);
  t.is((await apply(hub, tmp.path, 'web')).code, 0);
  await waitForInstances(hub, 'web', 1, (i) => i.phase === 'running', 'running');
  // Another hub process on the same database (its own data folder, the same admin token) sees the device and the placement.
  await hub.proc.kill('SIGKILL');
  const again = await startHubProcess({ root: join(tmp.path, 'second'), dataDir: join(tmp.path, 'second', 'hub'), extraArgs: ['--store', url, ...key], adminToken: hub.adminToken });
  procs.push(again.proc);
  t.deepEqual((await again.devices()).map((d) => d.hardwareId), ['pg-board-1']);
  await waitForInstances(again, 'web', 1, (i) => i.phase === 'running', 'running under the second hub');
});

test('a bad --store is refused naming the flag', async (t) => {
  const tmp = await makeTempDir('ep-pg-flag-');
  t.teardown(() => tmp.remove());
  const result = await runCli(['hub', '--data-dir', tmp.path, '--store', 'mysql://x/y', '--insecure'], { ...process.env, HOME: tmp.path });
  t.not(result.code, 0);
  t.regex(result.stderr, /--store must be a postgres:\/\/.* URL, not "mysql:\/\/x\/y"/);
});

test('PostgreSQL down: writes are refused with StoreUnavailable (503) at once, /healthz says degraded, and the hub recovers by itself', async (t) => {
  const tmp = await makeTempDir('ep-pg-down-');
  const hubs: HubHandle[] = [];
  t.teardown(async () => {
    await Promise.all(hubs.map((h) => h.proc.kill('SIGKILL')));
    await tmp.remove();
  });
  const cluster = await dedicatedCluster(t, tmp.path);
  const hub = await startHubProcess({ root: tmp.path, dataDir: join(tmp.path, 'hub'), extraArgs: ['--store', cluster.url] });
  hubs.push(hub);
  t.is((await apply(hub, tmp.path, 'before')).code, 0);

  await cluster.stop();
  const refused = await apply(hub, tmp.path, 'during');
  t.not(refused.code, 0, 'a write while PostgreSQL is down is not acknowledged');
  t.regex(refused.stderr, /the store \(PostgreSQL at 127\.0\.0\.1:\d+\) is unavailable/);
  const degraded = await waitFor('healthz degraded', async () => {
    const h = await healthz(hub);
    return h.status === 'degraded' ? h : undefined;
  });
  t.is(degraded.http, 503);
  t.false(degraded.ok);
  t.regex(degraded.reason ?? '', /PostgreSQL at 127\.0\.0\.1:\d+\) is unavailable/);

  await cluster.start();
  await waitFor('healthz ok again', async () => ((await healthz(hub)).status === 'ok' ? true : undefined), 30_000, 200);
  t.is((await apply(hub, tmp.path, 'after')).code, 0);
  t.deepEqual((await workloads(hub)).map((w) => w.name).sort(), ['after', 'before'], 'the refused write was not stored; nothing acknowledged was lost');
});
