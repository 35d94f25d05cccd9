// Issue 14, must-show 1 and 2, with real hub and agent processes (process runtime):
// a ConfigMap as a file and as env; a change rewrites the file in place for onChange: none and
// restarts for restart; a device offline during the change converges when it returns. A Secret
// is in clear nowhere but on the device that runs a workload using it.
import test from 'ava';
import { execFile } from 'node:child_process';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { createPrivateKey } from 'node:crypto';
import { desiredStateSchema, openSealedBox, SealedBoxError } from '../../src/protocol/index.js';
import { configRoots } from '../../src/device-agent/config-objects/config-files.js';
import { createJoinToken, startAgentProcess, startHubProcess, type HubHandle } from '../support/fleet.js';
import { makeTempDir } from '../support/paths.js';
import type { ManagedProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { applyYaml } from '../support/workloads.js';

const run = promisify(execFile);

/** A process that writes what it sees (its pid, its env, its mounted file) to out/<name>, every 0.2 s. */
function reporter(name: string, volume: string, file: string, envName: string): string[] {
  const script = `while true; do { echo "pid=$$"; echo "env=$${envName}"; cat "$EDGEPILOT_VOLUME_${volume.toUpperCase()}/${file}" 2>&1; } > "$EDGEPILOT_VOLUME_OUT/${name}.tmp"; mv "$EDGEPILOT_VOLUME_OUT/${name}.tmp" "$EDGEPILOT_VOLUME_OUT/${name}"; sleep 0.2; done`;
  return ['/bin/sh', '-c', script];
}

async function seen(out: string, name: string): Promise<{ pid: string; env: string; file: string } | undefined> {
  const text = await readFile(join(out, name), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const [pid = '', env = '', ...file] = text.split('\n');
  return { pid: pid.replace('pid=', ''), env: env.replace('env=', ''), file: file.join('\n').trim() };
}

async function identity(stateDir: string): Promise<{ deviceId: string; password: string }> {
  return JSON.parse(await readFile(join(stateDir, 'identity.json'), 'utf8')) as { deviceId: string; password: string };
}

/**
 * The retained desired message of a device, captured with mosquitto_sub and the device's own
 * credentials (the broker wants the device id as client id: the agent's session is taken over for
 * a moment and reconnects).
 */
async function retainedDesired(hub: HubHandle, stateDir: string): Promise<string> {
  const { deviceId, password } = await identity(stateDir);
  const url = new URL(hub.brokerUrl);
  const { stdout } = await run('mosquitto_sub', ['-h', url.hostname, '-p', url.port, '-u', deviceId, '-P', password, '-i', deviceId, '-t', `ep/v1/d/${deviceId}/desired`, '-C', '1', '-W', '10']);
  return stdout;
}

async function grepTree(root: string, needles: readonly string[]): Promise<string[]> {
  const hits: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    // A temporary file an agent is renaming right now may be gone already.
    const text = await readFile(path, 'latin1').catch(() => '');
    for (const n of needles) if (text.includes(n)) hits.push(`${path}: ${n}`);
  }
  return hits;
}

async function startFleet(t: { teardown(fn: () => Promise<void>): void }, prefix: string, boards: string[]) {
  const tmp = await makeTempDir(prefix);
  const procs: ManagedProcess[] = [];
  t.teardown(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    // Instances the agents started keep running after the agent's SIGKILL (an agent adopts them):
    // each wrote its pid to out/, and is its own process group.
    for (const name of await readdir(join(tmp.path, 'out')).catch(() => [])) {
      const pid = Number(/pid=(\d+)/.exec(await readFile(join(tmp.path, 'out', name), 'utf8').catch(() => ''))?.[1]);
      if (pid > 0) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    // The agents' tmpfs folders (outside the temporary folder).
    for (const board of boards) await rm(dirname((await configRoots(join(tmp.path, `agent-${board}`))).secretDir), { recursive: true, force: true });
    await tmp.remove();
  });
  const hub = await startHubProcess({ root: tmp.path, dataDir: join(tmp.path, 'hub') });
  procs.push(hub.proc);
  const agents = new Map<string, { stateDir: string; start(): ManagedProcess }>();
  for (const board of boards) {
    const token = await createJoinToken(hub, ['--labels', `board=${board}`]);
    const stateDir = join(tmp.path, `agent-${board}`);
    const start = (): ManagedProcess => {
      const proc = startAgentProcess({ name: `agent-${board}`, root: tmp.path, hubUrl: hub.apiUrl, joinToken: token, stateDir, hardwareId: `config-test-board-${board}`, extraArgs: ['--crash-backoff', '1'] });
      procs.push(proc);
      return proc;
    };
    agents.set(board, { stateDir, start });
  }
  return { tmp, hub, agents, procs };
}

test('a ConfigMap as file and env: onChange none rewrites in place, restart restarts, an offline device converges on return', async (t) => {
  const { tmp, hub, agents } = await startFleet(t, 'ep-configmap-', ['a']);
  const out = join(tmp.path, 'out');
  const a = agents.get('a');
  if (!a) return t.fail();
  let agentA = a.start();
  await waitFor('device online', async () => (await hub.devices()).find((d) => d.state === 'online' && d.facts?.boxKey));
  const manifests = (mode: string): string => `apiVersion: edgepilot.io/v1
kind: ConfigMap
metadata: { name: app }
data:
  app.conf: "mode=${mode}"
  MODE: "${mode}"
---
apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: quiet }
spec:
  selector: { matchLabels: { board: a } }
  template:
    runtime: process
    command: ${JSON.stringify(reporter('quiet', 'conf', 'app.conf', 'MODE'))}
    volumes:
      - { name: conf, mountPath: /etc/app, configMap: app, onChange: none }
      - { name: out, mountPath: /out, hostPath: ${out} }
---
apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: loud }
spec:
  selector: { matchLabels: { board: a } }
  template:
    runtime: process
    command: ${JSON.stringify(reporter('loud', 'conf', 'app.conf', 'MODE'))}
    envFrom: [{ configMap: app }]
    volumes:
      - { name: conf, mountPath: /etc/app, configMap: app, onChange: restart }
      - { name: out, mountPath: /out, hostPath: ${out} }
`;
  const applied = await applyYaml(hub, tmp.path, 'v1.yaml', manifests('one'));
  t.regex(applied, /configmap\/app created|ConfigMap\/app created/i);
  const quiet1 = await waitFor('quiet sees the file', async () => ((await seen(out, 'quiet'))?.file === 'mode=one' ? seen(out, 'quiet') : undefined), 60_000);
  const loud1 = await waitFor('loud sees file and env', async () => {
    const s = await seen(out, 'loud');
    return s?.file === 'mode=one' && s.env === 'one' ? s : undefined;
  }, 60_000);
  // The file is read-only to others, on the state folder (a ConfigMap is not secret).
  t.is(quiet1?.env, '', 'quiet does not take env from the ConfigMap');

  await applyYaml(hub, tmp.path, 'v2.yaml', manifests('two'));
  const quiet2 = await waitFor('quiet sees the new file', async () => ((await seen(out, 'quiet'))?.file === 'mode=two' ? seen(out, 'quiet') : undefined), 60_000);
  t.is(quiet2?.pid, quiet1?.pid, 'onChange: none keeps the process running');
  const loud2 = await waitFor('loud restarted with the new env', async () => {
    const s = await seen(out, 'loud');
    return s?.env === 'two' && s.file === 'mode=two' ? s : undefined;
  }, 60_000);
  t.not(loud2?.pid, loud1?.pid, 'onChange: restart (and env) restarts the process');

  // Offline during a change: the agent is killed (its processes run on), the ConfigMap changes, the agent returns.
  await agentA.kill('SIGKILL');
  await waitFor('device offline', async () => (await hub.devices()).find((d) => d.state === 'offline'), 60_000);
  await applyYaml(hub, tmp.path, 'v3.yaml', manifests('three'));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  t.is((await seen(out, 'quiet'))?.file, 'mode=two', 'nothing reaches an offline device');
  agentA = a.start();
  const quiet3 = await waitFor('quiet converges after the device returns', async () => ((await seen(out, 'quiet'))?.file === 'mode=three' ? seen(out, 'quiet') : undefined), 60_000);
  t.is(quiet3?.pid, quiet1?.pid, 'the adopted process was not restarted for onChange: none');
  await waitFor('loud converges after the device returns', async () => ((await seen(out, 'loud'))?.env === 'three' ? true : undefined), 90_000).catch(async (err: unknown) => {
    t.log(`agent output:\n${agentA.output.slice(-6000)}\nloud saw: ${JSON.stringify(await seen(out, 'loud'))}`);
    throw err;
  });
});

test('a Secret is in clear only on the device that uses it: not in the hub store, not in the retained message, not on other devices', async (t) => {
  const { tmp, hub, agents } = await startFleet(t, 'ep-secret-', ['a', 'b']);
  const out = join(tmp.path, 'out');
  const a = agents.get('a');
  const b = agents.get('b');
  if (!a || !b) return t.fail();
  a.start();
  b.start();
  await waitFor('both devices online with box keys', async () => {
    const devices = await hub.devices();
    return devices.length === 2 && devices.every((d) => d.state === 'online' && d.facts?.boxKey) ? devices : undefined;
  });
  const value = 'correct-horse-battery-staple-7f3a';
  const needles = [value, Buffer.from(value).toString('base64'), Buffer.from(value).toString('hex')];
  await applyYaml(hub, tmp.path, 'secret.yaml', `apiVersion: edgepilot.io/v1
kind: Secret
metadata: { name: db }
data: { password: "${value}" }
---
apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: vault-user }
spec:
  selector: { matchLabels: { board: a } }
  template:
    runtime: process
    command: ${JSON.stringify(reporter('vault-user', 'creds', 'password', 'DB_PASSWORD'))}
    valueFrom: { DB_PASSWORD: { secret: db, key: password } }
    volumes:
      - { name: creds, mountPath: /run/creds, secret: db }
      - { name: out, mountPath: /out, hostPath: ${out} }
---
apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: bystander }
spec:
  selector: { matchLabels: { board: b } }
  template:
    runtime: process
    command: ["/bin/sh", "-c", "echo pid=$$ > $EDGEPILOT_VOLUME_OUT/bystander; while true; do sleep 1; done"]
    volumes: [{ name: out, mountPath: /out, hostPath: ${out} }]
`);
  const view = await waitFor('the workload reads the secret as env and file', async () => {
    const s = await seen(out, 'vault-user');
    return s?.env === value && s.file === value ? s : undefined;
  }, 60_000);
  t.truthy(view);

  // On device a: the file is 0600, in the agent's tmpfs folder (this host has /dev/shm), not in the state folder.
  const rootA = await configRoots(a.stateDir);
  t.true(rootA.secretsOnTmpfs);
  const secretFile = join(rootA.secretDir, 'vault-user', 'creds', 'password');
  t.is(await readFile(secretFile, 'utf8'), value);
  t.is((await stat(secretFile)).mode & 0o777, 0o600);
  t.is((await stat(rootA.secretDir)).mode & 0o777, 0o700);
  t.false(await stat(join(await configRoots(b.stateDir).then((r) => r.secretDir), 'vault-user')).then(() => true, () => false));

  // The hub's store files hold no plaintext (nor base64 or hex of it).
  t.deepEqual(await grepTree(join(tmp.path, 'hub'), needles), []);
  // The retained desired messages hold ciphertext only; b's holds no Secret at all.
  const desiredA = await retainedDesired(hub, a.stateDir);
  const desiredB = await retainedDesired(hub, b.stateDir);
  for (const n of needles) {
    t.false(desiredA.includes(n), 'a: no plaintext in the retained desired message');
    t.false(desiredB.includes(n));
  }
  const docA = desiredStateSchema.parse(JSON.parse(desiredA));
  const docB = desiredStateSchema.parse(JSON.parse(desiredB));
  const sealed = docA.configs?.find((c) => c.kind === 'Secret' && c.name === 'db');
  t.truthy(sealed, 'a was sent the sealed secret');
  t.is(docB.configs, undefined, 'b runs nothing that uses it and is sent nothing');
  // Device b's own key cannot open what was sealed for a.
  if (sealed?.kind !== 'Secret') return;
  const keyB = createPrivateKey(await readFile(join(b.stateDir, 'device-box-key.pem'), 'utf8'));
  const error = t.throws(() => openSealedBox(sealed.sealed, keyB, `Secret/db/${sealed.version}`));
  t.true(error instanceof SealedBoxError);
  // And nothing of it is on device b's disk (state folder) either.
  t.deepEqual(await grepTree(b.stateDir, needles), []);
  t.deepEqual(await grepTree(a.stateDir, needles), [], "a's state folder keeps only the sealed box (for offline restarts)");

  // get secret shows keys, not values; --show-values (admin) shows them.
  const plain = await hub.cli(['get', 'secret', 'db', '-o', 'yaml']);
  t.is(plain.code, 0, plain.stderr);
  t.false(plain.stdout.includes(value));
  t.regex(plain.stdout, /password: <\d+ bytes>/);
  const shown = await hub.cli(['get', 'secret', 'db', '-o', 'yaml', '--show-values']);
  t.regex(shown.stdout, new RegExp(value));

  // No longer referenced: the files go from the device.
  const deleted = await hub.cli(['delete', 'workload', 'vault-user']);
  t.is(deleted.code, 0, deleted.stderr);
  await waitFor('the secret file is removed from the device', async () => {
    return (await stat(secretFile).catch(() => undefined)) === undefined ? true : undefined;
  }, 60_000);
  const after = desiredStateSchema.parse(JSON.parse(await retainedDesired(hub, a.stateDir)));
  t.is(after.configs, undefined, 'the sealed secret is taken out of the desired document');
});

/** The workload's events, as `describe workload -o json` shows them. */
async function workloadEvents(hub: HubHandle, name: string): Promise<{ reason: string; message: string }[]> {
  const result = await hub.cli(['describe', 'workload', name, '-o', 'json']);
  if (result.code !== 0) throw new Error(`describe workload ${name}: ${result.stderr}`);
  return (JSON.parse(result.stdout) as { events: { reason: string; message: string }[] }).events;
}

test('a ConfigMap change is paced (maxUnavailable 1): a device that crashes on it stops the rest, an event says why, a fixed version reaches every device', async (t) => {
  const boards = ['a', 'b', 'c'];
  const { tmp, hub, agents } = await startFleet(t, 'ep-config-pace-', boards);
  const out = join(tmp.path, 'out');
  for (const board of boards) agents.get(board)?.start();
  await waitFor('three devices online', async () => (await hub.devices()).filter((d) => d.state === 'online').length === 3, 60_000);
  // Refuses to start on LEVEL=bad (leaving a mark); otherwise reports its pid and LEVEL like reporter().
  // Every device runs an instance of the same id: files are named by the agent's folder (the named
  // volume is <agent state>/volumes/paced/data).
  const script = `ME=$(basename "$(dirname "$(dirname "$(dirname "$EDGEPILOT_VOLUME_DATA")")")"); if [ "$LEVEL" = bad ]; then echo bad > "$EDGEPILOT_VOLUME_OUT/$ME.bad"; exit 1; fi; while true; do { echo "pid=$$"; echo "env=$LEVEL"; } > "$EDGEPILOT_VOLUME_OUT/$ME.tmp"; mv "$EDGEPILOT_VOLUME_OUT/$ME.tmp" "$EDGEPILOT_VOLUME_OUT/$ME"; sleep 0.2; done`;
  const manifests = (level: string): string => `apiVersion: edgepilot.io/v1
kind: ConfigMap
metadata: { name: level }
data: { LEVEL: "${level}" }
---
apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: paced }
spec:
  updateStrategy: { maxUnavailable: 1 }
  template:
    runtime: process
    command: ${JSON.stringify(['/bin/sh', '-c', script])}
    envFrom: [{ configMap: level }]
    volumes:
      - { name: out, mountPath: /out, hostPath: ${out} }
      - { name: data, mountPath: /data }
`;
  const levels = async (): Promise<Map<string, { pid: string; env: string }>> => {
    const seenBy = new Map<string, { pid: string; env: string }>();
    for (const name of await readdir(out).catch(() => [] as string[])) {
      if (name.endsWith('.bad') || name.endsWith('.tmp')) continue;
      const s = await seen(out, name);
      if (s) seenBy.set(name, { pid: s.pid, env: s.env });
    }
    return seenBy;
  };
  await applyYaml(hub, tmp.path, 'good.yaml', manifests('good'));
  const before = await waitFor('three instances on LEVEL=good', async () => {
    const now = await levels();
    return now.size === 3 && [...now.values()].every((s) => s.env === 'good') ? now : undefined;
  }, 60_000).catch(async (err: unknown) => {
    t.log(`out: ${JSON.stringify([...(await levels())])} ${JSON.stringify(await readdir(out).catch(() => []))}\n${(await hub.cli(['get', 'workloads', 'paced', '-o', 'yaml'])).stdout}`);
    throw err;
  });

  await applyYaml(hub, tmp.path, 'bad.yaml', manifests('bad'));
  const halted = await waitFor('the pace stops with an event', async () => (await workloadEvents(hub, 'paced')).find((e) => e.reason === 'ConfigChangeHalted'), 90_000);
  t.regex(halted.message, /configmap level version [0-9a-f]{16}: paced change stopped, 2 device\(s\) kept on the earlier version: instance \S+ on \S+ is (crash-loop|failed)/);
  // The reports of the other two keep coming: they were neither sent the bad version nor restarted.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const marks = (await readdir(out)).filter((n) => n.endsWith('.bad'));
  t.is(marks.length, 1, `only one device got the bad version: ${marks.join(', ')}`);
  const held = [...(await levels())].filter(([name]) => !marks.includes(`${name}.bad`));
  t.is(held.length, 2);
  for (const [name, s] of held) t.deepEqual(s, before.get(name), `${name} kept LEVEL=good in the same process`);

  await applyYaml(hub, tmp.path, 'fixed.yaml', manifests('fixed'));
  await waitFor('every instance on the fixed version', async () => {
    const now = await levels();
    return now.size === 3 && [...now.values()].every((s) => s.env === 'fixed') ? true : undefined;
  }, 120_000);
});
