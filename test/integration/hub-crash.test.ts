import test from 'ava';
import { join } from 'node:path';
import { createJoinToken, startAgentProcess, startHubProcess } from '../support/fleet.js';
import { makeTempDir } from '../support/paths.js';
import type { ManagedProcess } from '../support/processes.js';
import { runCli } from '../support/processes.js';
import { freePort } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';

test('a hub SIGKILLed right after a token is created and a device registered still has both after restart', async (t) => {
  const tmp = await makeTempDir('ep-crash-');
  const procs: ManagedProcess[] = [];
  t.teardown(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await tmp.remove();
  });
  const dataDir = join(tmp.path, 'hub');
  const ports = { apiPort: await freePort(), mqttPort: await freePort() };
  const hub = await startHubProcess({ root: tmp.path, dataDir, ...ports });
  procs.push(hub.proc);
  const token = await createJoinToken(hub, ['--description', 'crash-test']);
  const tokenId = token.split('.')[0];
  const agent = startAgentProcess({ name: 'agent', root: tmp.path, hubUrl: hub.apiUrl, joinToken: token, stateDir: join(tmp.path, 'agent'), hardwareId: 'crash-board-1' });
  procs.push(agent);
  const deviceId = (await agent.waitForOutput(/joined the fleet as (\S+)/))[1];
  // No grace: the kill comes the moment the agent has its identity.
  await hub.proc.kill('SIGKILL');
  await agent.kill('SIGKILL');

  const again = await startHubProcess({ root: tmp.path, dataDir, adminToken: hub.adminToken, ...ports });
  procs.push(again.proc);
  t.false(/Admin token/.test(again.proc.output), 'no new admin token on restart');
  const tokens = await again.cli(['token', 'list', '-o', 'json']);
  t.is(tokens.code, 0, tokens.stderr);
  const listed = (JSON.parse(tokens.stdout) as { items: { id: string; uses: number; description: string }[] }).items;
  t.deepEqual(
    listed.map((x) => ({ id: x.id, uses: x.uses, description: x.description })),
    [{ id: tokenId, uses: 1, description: 'crash-test' }],
  );
  const devices = await again.devices();
  t.deepEqual(devices.map((d) => d.id), [deviceId]);

  // The device's credentials survived too: the agent reconnects without a token.
  const back = startAgentProcess({ name: 'agent-again', root: tmp.path, hubUrl: again.apiUrl, stateDir: join(tmp.path, 'agent'), hardwareId: 'crash-board-1' });
  procs.push(back);
  await waitFor('device online on the restarted hub', async () => (await again.devices())[0]?.state === 'online');
  t.pass();
});

test('the CLI against a stopped hub prints one clear line and exits non-zero', async (t) => {
  const port = await freePort();
  const result = await runCli(['get', 'devices', '--hub', `http://127.0.0.1:${port}`, '--token', 'ep_whatever-token-value']);
  t.not(result.code, 0);
  t.is(result.stdout, '');
  t.is(result.stderr.trim().split('\n').length, 1, 'exactly one line');
  t.regex(result.stderr, new RegExp(`^error: cannot reach hub at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
});
