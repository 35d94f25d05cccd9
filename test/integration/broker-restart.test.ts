// An external broker restarted under a hub that stays up (Mosquitto without persistence) has lost
// every retained desired document; the hub hands them again when its session comes back, so a
// device that reconnects (or boots) still finds what it should run.
import test from 'ava';
import mqtt from 'mqtt';
import { desiredStateSchema, topics } from '../../src/protocol/index.js';
import { captureLog, registerTestDevice, startTestHub } from '../support/in-process-hub.js';
import { makeTempDir } from '../support/paths.js';
import { join } from 'node:path';
import { openLowdbStore } from '../../src/hub/store/lowdb-store.js';
import { startMosquitto } from '../support/mosquitto.js';

/** The retained desired document of a device on the broker, as a device sees it at SUBSCRIBE (or none within 3 s). */
async function retainedDesired(url: string, deviceId: string): Promise<number | undefined> {
  const probe = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  try {
    const generation = new Promise<number | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), 3000);
      probe.once('message', (_topic, payload) => {
        clearTimeout(timer);
        resolve(desiredStateSchema.parse(JSON.parse(payload.toString())).generation);
      });
    });
    await probe.subscribeAsync(topics.desired(deviceId), { qos: 1 });
    return await generation;
  } finally {
    await probe.endAsync();
  }
}

test('Mosquitto SIGKILLed and restarted under a running hub: the desired documents are retained again', async (t) => {
  const dir = await makeTempDir('ep-broker-restart-');
  let mosquitto = await startMosquitto(dir.path);
  const log = captureLog();
  // A device with a stored document (as the hub left it): the hub publishes it at its start.
  const first = await startTestHub(dir.path, log.logger, mosquitto.url);
  const device = await registerTestDevice(first, 'broker-restart-1', log.logger);
  await first.close();
  const store = await openLowdbStore(join(dir.path, 'hub'));
  await store.deviceState.putDesired(device.deviceId, { generation: 5, issuedAt: new Date(0).toISOString(), instances: [] });
  await store.close();
  const hub = await startTestHub(dir.path, log.logger, mosquitto.url);
  t.teardown(async () => {
    await hub.close();
    await mosquitto.proc.kill('SIGKILL');
    await dir.remove();
  });
  let before: number | undefined;
  for (let i = 0; i < 20 && before === undefined; i++) before = await retainedDesired(mosquitto.url, device.deviceId);
  t.is(before, 5, 'the hub published the stored document at its start');

  await mosquitto.proc.kill('SIGKILL');
  mosquitto = await startMosquitto(dir.path, { port: mosquitto.port });
  let after: number | undefined;
  for (let i = 0; i < 20 && after === undefined; i++) after = await retainedDesired(mosquitto.url, device.deviceId);
  t.is(after, before, 'the same document (generation) is retained on the restarted broker');
});
