// The gateway path for telemetry: a hub and a gateway agent as processes on Mosquitto, an
// emulated STM32F103 (QEMU, with garbage slipped between its frames) and an emulated
// STC89C52 (s51) on pseudo-terminals the agent opens with serialport, as it would open
// /dev/ttyUSB0. Telemetry is read straight off the broker.
import test from 'ava';
import mqtt from 'mqtt';
import { join } from 'node:path';
import type { Bench } from '../../hardware/bench/bench.js';
import { mcuTelemetrySchema, type McuTelemetry } from '../../src/protocol/index.js';
import { startMosquitto } from '../support/mosquitto.js';
import { makeTempDir } from '../support/paths.js';
import type { ManagedProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { expectedTilt } from './bench-host.js';
import { startRig, stm32Image, type Rig } from './support/gateway-rig.js';

const STM_SERIAL = '0123456789abcdef';
const STC_SERIAL = 'c0ffee0000c52c52';
const STM_ID = `stm32f103-${STM_SERIAL}`;
const STC_ID = `stc89c52-${STC_SERIAL}`;

interface Received {
  topic: string;
  message: McuTelemetry;
}

let rig: Rig | undefined;
let broker: { proc: ManagedProcess; remove(): Promise<void> } | undefined;
let client: mqtt.MqttClient | undefined;
let stm: Bench | undefined;
let stc: Bench | undefined;
let gatewayId = '';
let gateway: ManagedProcess | undefined;
const received: Received[] = [];
const invalid: string[] = [];
let garbageBytes = 0;

test.before(async () => {
  const dir = await makeTempDir('ep-hw-mosquitto-');
  const mosquitto = await startMosquitto(dir.path);
  broker = { proc: mosquitto.proc, remove: dir.remove };
  rig = await startRig('telemetry', [['stm32', '1.0.0'], ['stc89c52', '1.0.0']], ['--broker', mosquitto.url]);
  client = await mqtt.connectAsync(mosquitto.url, { clientId: 'telemetry-test', clean: true });
  await client.subscribeAsync('ep/v1/d/+/mcu/+/telemetry', { qos: 0 });
  client.on('message', (topic, payload) => {
    const parsed = mcuTelemetrySchema.safeParse(JSON.parse(payload.toString('utf8')));
    if (parsed.success) received.push({ topic, message: parsed.data });
    else invalid.push(payload.toString('utf8'));
  });
  stm = await rig.startBench('stm', { mcu: 'stm32f103', image: stm32Image(rig, '1.0.0'), serial: STM_SERIAL, garbageEveryMs: 30, garbageSeed: 11 });
  stm.on('garbage', (bytes) => (garbageBytes += bytes.length));
  stc = await rig.startBench('stc', { mcu: 'stc89c52', image: join(rig.build, 'stc89c52-tilt-1.0.0.ihx'), serial: STC_SERIAL });
  // --mcu-discover as well: listing this machine's ports (udevadm) must not disturb the configured ones.
  const started = await rig.startGateway([stm.hostPath, stc.hostPath], ['--mcu-discover']);
  gatewayId = started.deviceId;
  gateway = started.agent;
});

test.after.always(async () => {
  await client?.endAsync().catch(() => undefined);
  await rig?.cleanup();
  await broker?.proc.kill('SIGKILL');
  await broker?.remove();
});

function ready(): { rig: Rig; stm: Bench; stc: Bench } {
  if (!rig || !stm || !stc) throw new Error('setup failed');
  return { rig, stm, stc };
}

/** Telemetry of one MCU received so far, with its topic. */
function telemetryOf(mcu: string): Received[] {
  return received.filter((r) => r.message.mcu === mcu);
}

function channel(message: McuTelemetry, name: string): number | undefined {
  return message.channels.find((c) => c.name === name)?.value;
}

test.serial('the gateway identifies both MCUs, lists them, and their telemetry reaches MQTT with the generator\'s pitch and roll', async (t) => {
  const { rig } = ready();
  const stmView = await rig.waitForMcu('the STM32 online', (m) => m.id === STM_ID && m.online);
  const stcView = await rig.waitForMcu('the STC89C52 online', (m) => m.id === STC_ID && m.online);
  t.like(stmView, { gateway: gatewayId, model: 'stm32f103', application: 'env-node', serial: STM_SERIAL, firmwareVersion: '1.0.0', port: ready().stm.hostPath });
  t.like(stcView, { gateway: gatewayId, model: 'stc89c52', application: 'tilt', serial: STC_SERIAL, firmwareVersion: '1.0.0', port: ready().stc.hostPath });

  // Every generator sample (PROTOCOL.md table) from each MCU, on its own topic.
  for (const mcu of [STM_ID, STC_ID]) {
    await waitFor(`all 8 generator samples from ${mcu}`, () => new Set(telemetryOf(mcu).map((r) => (r.message.sampleIndex ?? -1) % 8)).size === 8, 60_000, 200);
    for (const { topic, message } of telemetryOf(mcu)) {
      t.is(topic, `ep/v1/d/${gatewayId}/mcu/${mcu}/telemetry`);
      const index = message.sampleIndex ?? -1;
      const expected = expectedTilt(index);
      const pitch = channel(message, 'pitch') ?? NaN;
      const roll = channel(message, 'roll') ?? NaN;
      // The firmware's integer CORDIC is within 0.01° of Math.round (hardware/firmware/common/README.md).
      t.true(Math.abs(pitch - expected.pitch / 100) <= 0.011, `${mcu} sample ${index}: pitch ${pitch}, expected ${expected.pitch / 100}`);
      t.true(Math.abs(roll - expected.roll / 100) <= 0.011, `${mcu} sample ${index}: roll ${roll}, expected ${expected.roll / 100}`);
      t.is(message.channels.find((c) => c.name === 'pitch')?.unit, 'deg');
      t.is(message.model, mcu === STM_ID ? 'stm32f103' : 'stc89c52');
    }
  }
  t.deepEqual(invalid, [], 'every telemetry payload matches the protocol schema');
  t.true(garbageBytes > 0, 'garbage was slipped between the STM32 frames all along');

  const table = await rig.cli(['get', 'mcus']);
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, new RegExp(`${gatewayId}\\s+${STM_ID}\\s+stm32f103\\s+1\\.0\\.0\\s+Online`));
  t.regex(table.stdout, new RegExp(`${gatewayId}\\s+${STC_ID}\\s+stc89c52\\s+1\\.0\\.0\\s+Online`));
  t.regex(table.stdout, /pitch=-?\d+\.\d\d°/, 'the last telemetry is shown');
  const yaml = await rig.cli(['get', 'mcus', '-o', 'yaml']);
  t.regex(yaml.stdout, new RegExp(`id: ${STC_ID}`));

  const samples = await rig.cli(['telemetry', `${gatewayId}/${STC_ID}`, '--tail', '3', '-o', 'json']);
  t.is(samples.code, 0, samples.stderr);
  const lines = samples.stdout.trim().split('\n').map((line) => mcuTelemetrySchema.parse(JSON.parse(line)));
  t.is(lines.length, 3);
  t.true(lines.every((l) => l.mcu === STC_ID));
  const human = await rig.cli(['telemetry', `${gatewayId}/${STM_ID}`, '--tail', '1']);
  t.regex(human.stdout, /#\d+ {2}pitch=-?\d+\.\d\d° roll=-?\d+\.\d\d° accel_x=-?\d+mg/);
});

test.serial('unplugging a port is noticed, and the MCU is identified again when it is plugged back', async (t) => {
  const { rig, stm, stc } = ready();
  await stc.stop(); // the 8051 simulator takes a whole core: done with it
  await stm.unplug();
  await rig.waitForMcu('the STM32 offline after unplug', (m) => m.id === STM_ID && !m.online);
  t.true(gateway?.running, 'the gateway keeps running');
  const devices = await rig.hub.devices();
  t.is(devices.find((d) => d.id === gatewayId)?.state, 'online', 'only the MCU went offline, not the gateway');
  await stm.replug();
  await rig.waitForMcu('the STM32 online after replug', (m) => m.id === STM_ID && m.online);
  const before = telemetryOf(STM_ID).length;
  await waitFor('telemetry again after replug', () => telemetryOf(STM_ID).length > before + 3, 30_000, 200);
  t.pass();
});

test.serial('a silent MCU goes offline when PING goes unanswered, and comes back when it talks again', async (t) => {
  const { rig, stm } = ready();
  await rig.waitForMcu('the STM32 online', (m) => m.id === STM_ID && m.online);
  await stm.resetToBootloader(); // BOOT0 high: no more frames, no answers in the link protocol
  await rig.waitForMcu('the silent STM32 offline', (m) => m.id === STM_ID && !m.online);
  await stm.powerCycle();
  const back = await rig.waitForMcu('the STM32 online after the power cycle', (m) => m.id === STM_ID && m.online);
  t.is(back.firmwareVersion, '1.0.0');
  t.true(gateway?.running, 'the gateway keeps running');
});
