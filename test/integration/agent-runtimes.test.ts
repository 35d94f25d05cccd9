import test from 'ava';
import { join } from 'node:path';
import { createJoinToken, isolatedEnv, startHubProcess } from '../support/fleet.js';
import { makeTempDir } from '../support/paths.js';
import { spawnEdgepilot, type ManagedProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { applyYaml, workloads } from '../support/workloads.js';

test('a device without Docker runs the process runtime only, says so in its facts, and gets no containers', async (t) => {
  const tmp = await makeTempDir('ep-runtimes-');
  const procs: ManagedProcess[] = [];
  t.teardown(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await tmp.remove();
  });
  const hub = await startHubProcess({ root: tmp.path, dataDir: join(tmp.path, 'hub') });
  procs.push(hub.proc);
  const token = await createJoinToken(hub, ['--labels', 'kind=nodocker']);
  // A Docker socket that does not exist: the agent must not load dockerode at all.
  const noDocker = spawnEdgepilot(
    'agent-no-docker',
    ['agent', '--hub', hub.apiUrl, '--join-token', token, '--state-dir', join(tmp.path, 'agent'), '--hardware-id', 'no-docker-board', '--keepalive', '2'],
    { ...isolatedEnv(tmp.path), DOCKER_HOST: `unix://${join(tmp.path, 'no-docker.sock')}` },
  );
  procs.push(noDocker);
  await noDocker.waitForOutput(/runtimes: process\)/);
  t.notRegex(noDocker.output, /runtimes: container/);
  const device = await waitFor('device online with facts', async () => (await hub.devices()).find((d) => d.state === 'online' && d.facts));
  t.false(device.facts?.runtimes.docker.available);
  t.true(device.facts?.runtimes.process.available);

  await applyYaml(hub, tmp.path, 'web.yaml', `apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: web }
spec:
  replicas: 1
  selector: { matchLabels: { kind: nodocker } }
  template: { runtime: container, image: local/busybox:latest }
`);
  const view = await waitFor('the container workload is explained as unplaced', async () => (await workloads(hub)).find((w) => w.name === 'web' && w.status.unplacedReason));
  t.is(view.status.unplacedReason, '1 replica(s) unplaced: 0/1 devices fit: 1 container runtime unavailable');
  t.is(view.status.placed, 0);
});
