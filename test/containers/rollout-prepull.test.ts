// Issue 8: downloads may happen any time, installs only in the window. A hub and an agent as
// processes on the real dockerd; the release's image is on a registry on loopback (served from
// the local busybox image), not on the device. The device's window opens seconds after the
// rollout starts: before it opens, the image has been pulled through the agent's runtime and the
// rollout shows the device waiting and downloaded, with no container of the release; the
// container starts only once the window is open.
import test from 'ava';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { rolloutViewSchema, type RolloutView } from '../../src/protocol/index.js';
import { docker, removeContainersOfDevice } from '../support/docker.js';
import { createJoinToken, startAgentProcess, startHubProcess, type HubHandle } from '../support/fleet.js';
import { startLocalRegistry, type LocalRegistry } from '../support/local-registry.js';
import { makeTempDir } from '../support/paths.js';
import type { ManagedProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { applyYaml, instancesOf } from '../support/workloads.js';

const ctx = {} as { dir: string; hub: HubHandle; agent: ManagedProcess; deviceId: string; registry: LocalRegistry; image: string; cleanup(): Promise<void> };

test.before(async () => {
  const tmp = await makeTempDir('ep-prepull-');
  ctx.dir = tmp.path;
  const tag = `v2-${ctx.dir.slice(-6).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
  const scratch = join(ctx.dir, 'registry');
  await mkdir(scratch);
  ctx.registry = await startLocalRegistry('local/busybox:latest', 'edgepilot/prepull', tag, scratch);
  ctx.image = `${ctx.registry.host}/edgepilot/prepull:${tag}`;
  ctx.hub = await startHubProcess({ root: ctx.dir, dataDir: join(ctx.dir, 'hub') });
  const token = await createJoinToken(ctx.hub, ['--labels', 'site=pp']);
  ctx.agent = startAgentProcess({
    name: 'pp1',
    root: ctx.dir,
    hubUrl: ctx.hub.apiUrl,
    joinToken: token,
    stateDir: join(ctx.dir, 'pp1'),
    hardwareId: `ro-pp-${ctx.dir.slice(-6)}`,
    extraArgs: ['--registry', `http://${ctx.registry.host}`],
  });
  ctx.deviceId = (await ctx.agent.waitForOutput(/running as (\S+)/))[1] ?? '';
  ctx.cleanup = async () => {
    await Promise.all([ctx.agent.kill('SIGKILL'), ctx.hub.proc.kill('SIGKILL')]);
    if (ctx.deviceId) await removeContainersOfDevice(ctx.deviceId).catch(() => undefined);
    await docker('rmi', '-f', ctx.image).catch(() => undefined);
    await ctx.registry.close();
    await tmp.remove();
  };
});

test.after.always(async () => ctx.cleanup?.());

async function fetchRollout(name: string): Promise<RolloutView> {
  const res = await fetch(`${ctx.hub.apiUrl}/v1/rollouts/${name}`, { headers: { authorization: `Bearer ${ctx.hub.adminToken}` } });
  return rolloutViewSchema.parse(await res.json());
}

const imagePresent = (): Promise<boolean> => docker('image', 'inspect', ctx.image).then(() => true, () => false);

test('while its window is closed the device pulls the release\'s image and says so; the container starts only once the window opens', async (t) => {
  t.false(await imagePresent(), 'the release image is not on the device before the rollout');
  const since = Math.floor(Date.now() / 1000) - 1;
  await applyYaml(ctx.hub, ctx.dir, 'pp.yaml', `apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: pp }
spec:
  selector: { matchLabels: { site: pp } }
  template:
    runtime: container
    image: local/busybox:latest
    command: ["sh", "-c", "exec sleep 100000"]
    terminationGracePeriodSeconds: 1
`);
  const v1 = await waitFor('pp v1 running', async () => {
    const i = await instancesOf(ctx.hub, 'pp');
    return i.length === 1 && i[0]?.phase === 'running' ? i[0].revision : undefined;
  }, 90_000, 300);
  // The window opens 20 s from now (6-field cron, seconds first, UTC) and stays open 10 minutes.
  const opens = new Date(Date.now() + 20_000);
  opens.setUTCMilliseconds(0);
  await applyYaml(ctx.hub, ctx.dir, 'rollout.yaml', `apiVersion: edgepilot.io/v1
kind: MaintenanceWindow
metadata: { name: pp-night }
spec:
  selector: { matchLabels: { site: pp } }
  schedule: "${opens.getUTCSeconds()} ${opens.getUTCMinutes()} ${opens.getUTCHours()} * * *"
  duration: 10m
  timeZone: UTC
  mode: allow
---
apiVersion: edgepilot.io/v1
kind: Release
metadata: { name: pp }
spec:
  version: 2.0.0
  workloads:
    pp:
      runtime: container
      image: ${ctx.image}
      command: ["sh", "-c", "exec sleep 100000"]
      terminationGracePeriodSeconds: 1
---
apiVersion: edgepilot.io/v1
kind: Rollout
metadata: { name: pp }
spec:
  selector: { matchLabels: { site: pp } }
  release: { name: pp, version: 2.0.0 }
  waves:
    - { percent: 100, minHealthySeconds: 1, healthyDeadlineSeconds: 60, progressDeadlineSeconds: 120 }
`);
  const waiting = await waitFor('the device waiting for its window, downloaded', async () => {
    const r = await fetchRollout('pp');
    const d = r.devices.find((x) => x.id === ctx.deviceId);
    return d?.state === 'waiting-window' && /downloaded/.test(d.reason ?? '') ? d : undefined;
  }, 60_000, 200);
  t.true(Date.now() < opens.getTime(), `downloaded before the window opened (${waiting.reason ?? ''})`);
  t.true(await imagePresent(), 'the image was pulled through the runtime');
  t.true(ctx.registry.manifestRequests() >= 1, 'pulled from the registry');
  const running = await instancesOf(ctx.hub, 'pp');
  t.deepEqual(running.map((i) => i.revision), [v1], 'nothing of the release installed yet');

  const done = await waitFor('rollout completed', async () => {
    const r = await fetchRollout('pp');
    return r.phase === 'completed' || r.phase === 'rolled-back' ? r : undefined;
  }, 120_000, 300);
  t.is(done.phase, 'completed', JSON.stringify(done.devices));
  const v2 = (await instancesOf(ctx.hub, 'pp'))[0]?.revision;
  t.not(v2, v1);
  // The engine's own log: the release's container started once, after the window opened.
  const out = await docker('events', '--since', String(since), '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', 'type=container', '--filter', 'event=start', '--filter', `label=io.edgepilot.device=${ctx.deviceId}`, '--format', '{{.Time}} {{index .Actor.Attributes "io.edgepilot.revision"}}');
  const starts = out.split('\n').filter(Boolean).map((line) => line.split(' '));
  const v2Starts = starts.filter(([, revision]) => revision === v2);
  t.is(v2Starts.length, 1, out);
  t.true(Number(v2Starts[0]?.[0]) >= Math.floor(opens.getTime() / 1000), `started at ${v2Starts[0]?.[0]}, window opened at ${opens.toISOString()}`);
});
