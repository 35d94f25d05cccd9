import type { ExecutionContext } from 'ava';
import { join } from 'node:path';
import { createJoinToken, startAgentProcess, startHubProcess } from './fleet.js';
import { makeTempDir } from './paths.js';
import type { ManagedProcess } from './processes.js';
import { waitFor } from './wait.js';

/**
 * The registration story of issue 2, run against the embedded broker or an external one:
 * three agents join with one token, show up online with their hardware, one is SIGKILLed and
 * goes offline through its last will, and comes back under the same id.
 */
export async function runRegistrationScenario(t: ExecutionContext, options: { externalBroker?: string; hubArgs?: string[] }): Promise<void> {
  const tmp = await makeTempDir();
  const processes: ManagedProcess[] = [];
  t.teardown(async () => {
    await Promise.all(processes.map((p) => p.kill('SIGKILL')));
    await tmp.remove();
  });
  const hub = await startHubProcess({ root: tmp.path, dataDir: join(tmp.path, 'hub'), ...(options.externalBroker ? { broker: options.externalBroker } : {}), ...(options.hubArgs ? { extraArgs: options.hubArgs } : {}) });
  processes.push(hub.proc);
  t.log(`hub at ${hub.apiUrl}, broker ${hub.brokerUrl}`);

  const token = await createJoinToken(hub, ['--max-uses', '3', '--labels', 'site=test-lab']);
  const agents = [0, 1, 2].map((i) =>
    startAgentProcess({ name: `agent-${i}`, root: tmp.path, hubUrl: hub.apiUrl, joinToken: token, stateDir: join(tmp.path, `agent-${i}`), hardwareId: `test-board-000${i}` }),
  );
  processes.push(...agents);

  const online = await waitFor('three devices online with facts', async () => {
    const devices = await hub.devices();
    return devices.length === 3 && devices.every((d) => d.state === 'online' && d.facts) ? devices : undefined;
  });
  for (const device of online) {
    t.truthy(device.facts?.arch && device.facts.arch !== 'unknown', `${device.id} reports its arch`);
    t.true((device.facts?.cpu.cores ?? 0) >= 1, `${device.id} reports CPU cores`);
    t.true((device.facts?.memory.totalBytes ?? 0) > 0, `${device.id} reports memory`);
    t.is(device.labels['site'], 'test-lab', 'token labels are applied');
  }
  t.is(new Set(online.map((d) => d.hardwareId)).size, 3);

  const victim = agents[0];
  if (!victim) throw new Error('no agent');
  const victimId = (await victim.waitForOutput(/running as (\S+)/))[1];
  const victimDevice = online.find((d) => d.id === victimId);
  t.truthy(victimDevice, 'the agent runs under the id the hub shows');
  await victim.kill('SIGKILL');
  await waitFor('killed agent offline via its last will', async () => (await hub.devices()).find((d) => d.id === victimId)?.state === 'offline');
  const others = (await hub.devices()).filter((d) => d.id !== victimId);
  t.true(others.every((d) => d.state === 'online'), 'the other agents stay online');

  const restarted = startAgentProcess({ name: 'agent-0-again', root: tmp.path, hubUrl: hub.apiUrl, stateDir: join(tmp.path, 'agent-0'), hardwareId: 'test-board-0000' });
  processes.push(restarted);
  const again = (await restarted.waitForOutput(/running as (\S+)/))[1];
  t.is(again, victimId, 'the restarted agent keeps its device id');
  await waitFor('restarted device online', async () => (await hub.devices()).find((d) => d.id === victimId)?.state === 'online');
  t.is((await hub.devices()).length, 3, 'no duplicate device');

  // The token is used up: a fourth board is refused with the hub's reason.
  const fourth = startAgentProcess({ name: 'agent-3', root: tmp.path, hubUrl: hub.apiUrl, joinToken: token, stateDir: join(tmp.path, 'agent-3'), hardwareId: 'test-board-0003' });
  processes.push(fourth);
  await fourth.waitForOutput(/has been used 3 of 3 times/);
  const exit = await fourth.exited;
  t.not(exit.code, 0, 'an agent refused at join exits non-zero');
}
