import test from 'ava';
import mqtt from 'mqtt';
import { topics } from '../../src/protocol/index.js';
import { captureLog, registerTestDevice, startTestHub } from '../support/in-process-hub.js';
import { waitFor } from '../support/wait.js';
import { makeTempDir } from '../support/paths.js';
import { startMosquitto } from '../support/mosquitto.js';
import { runRegistrationScenario } from '../support/registration-scenario.js';

test('the same registration story against an external Mosquitto broker', async (t) => {
  const dir = await makeTempDir('ep-mosquitto-');
  const mosquitto = await startMosquitto(dir.path);
  t.teardown(async () => {
    await mosquitto.proc.kill('SIGKILL');
    await dir.remove();
  });
  await runRegistrationScenario(t, { externalBroker: mosquitto.url });
});

test('the same story against Mosquitto with dynamic security: real agents log in with the accounts the hub made', async (t) => {
  const dir = await makeTempDir('ep-mosquitto-');
  const mosquitto = await startMosquitto(dir.path, { dynsec: true });
  t.teardown(async () => {
    await mosquitto.proc.kill('SIGKILL');
    await dir.remove();
  });
  await runRegistrationScenario(t, { externalBroker: mosquitto.url, hubArgs: ['--broker-dynsec'] });
});

test('with an external broker the hub itself bounds and validates payloads', async (t) => {
  const dir = await makeTempDir('ep-mosquitto-');
  const mosquitto = await startMosquitto(dir.path);
  const log = captureLog();
  const hub = await startTestHub(dir.path, log.logger, mosquitto.url);
  t.teardown(async () => {
    await hub.close();
    await mosquitto.proc.kill('SIGKILL');
    await dir.remove();
  });
  const device = await registerTestDevice(hub, 'mosquitto-board-1', log.logger);
  // Mosquitto here allows anonymous clients: nothing stops a bad payload before the hub.
  const rogue = await mqtt.connectAsync(mosquitto.url, { reconnectPeriod: 0 });
  await rogue.publishAsync(topics.facts(device.deviceId), 'x'.repeat(100 * 1024), { qos: 1 });
  await rogue.publishAsync(topics.status(device.deviceId), '{"state":"sideways"}', { qos: 1 });
  await waitFor('oversized facts dropped', () => log.has(/dropped message on ep\/v1\/d\/[^/]+\/facts: payload of 102400 bytes exceeds the limit of 65536/));
  await waitFor('invalid status dropped', () => log.has(/dropped message on ep\/v1\/d\/[^/]+\/status: state: /));
  await rogue.endAsync();
  const health = await fetch(`${hub.apiUrl}/healthz`);
  t.is(health.status, 200);
});
