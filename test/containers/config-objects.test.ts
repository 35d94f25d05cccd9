// Issue 14 with containers: a ConfigMap and a Secret mounted into a busybox container (bind mounts of
// the agent's folders, the Secret's from a tmpfs), env from both, and a change that rewrites the
// mounted file in place without replacing the container (onChange: none).
import test from 'ava';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { configRoots } from '../../src/device-agent/config-objects/config-files.js';
import { createJoinToken, startAgentProcess, startHubProcess } from '../support/fleet.js';
import { containersOfDevice, docker, removeContainersOfDevice } from '../support/docker.js';
import { makeTempDir } from '../support/paths.js';
import type { ManagedProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { applyYaml } from '../support/workloads.js';

const manifests = (level: string): string => `apiVersion: edgepilot.io/v1
kind: ConfigMap
metadata: { name: app }
data: { app.conf: "level=${level}" }
---
apiVersion: edgepilot.io/v1
kind: ConfigMap
metadata: { name: greeting }
data: { GREETING: "hello" }
---
apiVersion: edgepilot.io/v1
kind: Secret
metadata: { name: db }
data: { password: "container-secret-91c2" }
---
apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: box }
spec:
  template:
    runtime: container
    image: local/busybox:latest
    command: ["sh", "-c", "exec sleep 100000"]
    envFrom: [{ configMap: greeting }]
    valueFrom: { DB_PASSWORD: { secret: db, key: password } }
    volumes:
      - { name: conf, mountPath: /etc/app, configMap: app, onChange: none }
      - { name: creds, mountPath: /run/creds, secret: db }
    terminationGracePeriodSeconds: 1
`;

test('a container reads a ConfigMap and a Secret as files and env; a change rewrites the file in the same container', async (t) => {
  const tmp = await makeTempDir('ep-config-containers-');
  const stateDir = join(tmp.path, 'agent');
  const procs: ManagedProcess[] = [];
  let deviceId = '';
  t.teardown(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    if (deviceId) await removeContainersOfDevice(deviceId);
    await rm(dirname((await configRoots(stateDir)).secretDir), { recursive: true, force: true });
    await tmp.remove();
  });
  const hub = await startHubProcess({ root: tmp.path, dataDir: join(tmp.path, 'hub') });
  procs.push(hub.proc);
  const token = await createJoinToken(hub);
  procs.push(startAgentProcess({ name: 'agent', root: tmp.path, hubUrl: hub.apiUrl, joinToken: token, stateDir, hardwareId: 'config-containers-board' }));
  const device = await waitFor('device online with docker', async () => (await hub.devices()).find((d) => d.state === 'online' && d.facts?.runtimes.docker.available && d.facts.boxKey), 60_000);
  deviceId = device.id;

  await applyYaml(hub, tmp.path, 'v1.yaml', manifests('info'));
  const container = await waitFor('the container runs', async () => (await containersOfDevice(deviceId))[0], 90_000);
  const exec = (...args: string[]): Promise<string> => docker('exec', container, ...args);
  await waitFor('running', async () => (await docker('inspect', '-f', '{{.State.Running}}', container)) === 'true');
  t.is(await exec('cat', '/etc/app/app.conf'), 'level=info');
  t.is(await exec('cat', '/run/creds/password'), 'container-secret-91c2');
  t.is(await exec('sh', '-c', 'echo "$GREETING $DB_PASSWORD"'), 'hello container-secret-91c2');
  // Read-only inside; the Secret's folder comes from the agent's tmpfs folder.
  t.not((await exec('sh', '-c', 'echo x > /etc/app/new 2>&1; echo $?')).trim(), '0');
  const mounts = await docker('inspect', '-f', '{{range .Mounts}}{{.Source}}={{.Destination}} {{end}}', container);
  const { secretDir } = await configRoots(stateDir);
  t.true(mounts.includes(`${secretDir}/`) && mounts.includes('=/run/creds'), mounts);

  await applyYaml(hub, tmp.path, 'v2.yaml', manifests('debug'));
  await waitFor('the file changes inside the container', async () => ((await exec('cat', '/etc/app/app.conf')) === 'level=debug' ? true : undefined), 60_000);
  t.deepEqual(await containersOfDevice(deviceId), [container], 'the same container (onChange: none)');
  // Env always restarts: a change of the env ConfigMap replaces the container.
  await applyYaml(hub, tmp.path, 'v3.yaml', manifests('debug').replace('GREETING: "hello"', 'GREETING: "hi"'));
  const next = await waitFor('a new container with the new env', async () => {
    const ids = await containersOfDevice(deviceId);
    const id = ids.find((c) => c !== container);
    if (!id || ids.length !== 1) return undefined;
    return (await docker('exec', id, 'sh', '-c', 'echo $GREETING').catch(() => '')) === 'hi' ? id : undefined;
  }, 90_000);
  t.truthy(next);
});
