import test from 'ava';
import { join } from 'node:path';
import { isolatedEnv } from '../support/fleet.js';
import { freePort } from '../support/mosquitto.js';
import { makeTempDir } from '../support/paths.js';
import { runCli, spawnEdgepilot, type ManagedProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

// Issue 12, item 3: the local agent of `edgepilot up` whose credentials the hub no longer takes
// used to retry them forever, across restarts of `npm start`, until its state folder was
// deleted. `up` now checks the kept credentials against its own hub and hands the agent a
// fresh single-use token when they are refused.
test('up: a local agent whose device was deleted joins again on the next start', async (t) => {
  const dir = await makeTempDir('ep-up-rejoin-');
  const env = isolatedEnv(dir.path);
  const [apiPort, mqttPort] = [await freePort(), await freePort()];
  // TLS by default: the CLI verifies the hub against the CA that `up` wrote into its config.
  const hubUrl = `https://127.0.0.1:${apiPort}`;
  const args = ['up', '--data-dir', join(dir.path, 'hub'), '--listen', `127.0.0.1:${apiPort}`, '--mqtt-listen', `127.0.0.1:${mqttPort}`];
  let up: ManagedProcess | undefined;
  t.teardown(async () => {
    await up?.kill();
    await dir.remove();
  });
  // `up` writes the CLI config (hub URL and admin token) into this test's own config folder.
  const cli = (cliArgs: string[]) => runCli(cliArgs, { ...env, EDGEPILOT_HUB: hubUrl });
  const onlineDevices = async (): Promise<string[]> => {
    const r = await cli(['get', 'devices', '-o', 'json']);
    if (r.code !== 0) return [];
    const items = (JSON.parse(r.stdout) as { items: Array<{ id: string; state: string }> }).items;
    return items.filter((d) => d.state === 'online').map((d) => d.id);
  };

  up = spawnEdgepilot('up', args, env);
  const [first] = await waitFor('the local agent online', async () => ((await onlineDevices()).length === 1 ? onlineDevices() : undefined), 60_000, 500);
  t.truthy(first);

  const deleted = await cli(['delete', 'device', first ?? '']);
  t.is(deleted.code, 0, deleted.stderr);
  await up.kill();

  up = spawnEdgepilot('up', args, env);
  await up.waitForOutput(/does not accept the local agent's credentials/, 60_000);
  const again = await waitFor('the local agent online again', async () => {
    const ids = await onlineDevices();
    return ids.length === 1 ? ids : undefined;
  }, 60_000, 500).catch((err: Error) => {
    throw new Error(`${err.message}; up said:\n${up?.output.slice(-4000) ?? ''}`);
  });
  t.not(again[0], first, 'a deleted device is forgotten: the board joins as a new device');
});
