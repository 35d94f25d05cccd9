// Issue 14, MCUs as services: a gateway agent started with --mcu-telemetry-port streams its MCUs'
// telemetry as JSON lines on a local port; a container workload on the gateway that lists the
// `mcu-telemetry` service reads the emulated STM32's sensor through it (env HOST/PORT), without
// the serial port, which the gateway keeps.
import test from 'ava';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import type { Bench } from '../../hardware/bench/bench.js';
import { mcuTelemetrySchema } from '../../src/protocol/index.js';
import { docker } from '../support/docker.js';
import { freePort } from '../support/mosquitto.js';
import { waitFor } from '../support/wait.js';
import { startRig, stm32Image, type Rig } from './support/gateway-rig.js';
import { writeFile } from 'node:fs/promises';

const STM_SERIAL = '00000000000e5e71';
const STM_ID = `stm32f103-${STM_SERIAL}`;

let rig: Rig | undefined;
let stm: Bench | undefined;
let gatewayId = '';
let telemetryPort = 0;

test.before(async () => {
  rig = await startRig('mcu-service', [['stm32', '1.0.0']]);
  stm = await rig.startBench('stm', { mcu: 'stm32f103', image: stm32Image(rig, '1.0.0'), serial: STM_SERIAL });
  telemetryPort = await freePort();
  gatewayId = (await rig.startGateway([stm.hostPath], ['--mcu-telemetry-port', String(telemetryPort), '--crash-backoff', '1'])).deviceId;
});

test.after.always(async () => {
  const ids = gatewayId ? await docker('ps', '-aq', '--filter', `label=io.edgepilot.device=${gatewayId}`).catch(() => '') : '';
  if (ids) await docker('rm', '-f', ...ids.split('\n')).catch(() => undefined);
  await rig?.cleanup();
});

/** Lines read from the local MCU telemetry port by a plain TCP client. */
function readLines(port: number, count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`fewer than ${count} lines within 30 s: ${text}`));
    }, 30_000);
    socket.on('data', (d: Buffer) => {
      text += d.toString();
      const lines = text.split('\n').filter(Boolean);
      if (lines.length >= count) {
        clearTimeout(timer);
        socket.destroy();
        resolve(lines.slice(0, count));
      }
    });
    socket.on('error', reject);
  });
}

test.serial('the gateway streams each MCU\'s telemetry as JSON lines on its local port', async (t) => {
  if (!rig) throw new Error('setup failed');
  await rig.waitForMcu('the STM32 online', (m) => m.id === STM_ID && m.online);
  const lines = await readLines(telemetryPort, 3);
  for (const line of lines) {
    const message = mcuTelemetrySchema.parse(JSON.parse(line));
    t.is(message.mcu, STM_ID);
    t.true(message.channels.some((c) => c.name === 'pitch'));
  }
});

test.serial('a container on the gateway reads the sensor through the mcu-telemetry service', async (t) => {
  if (!rig) throw new Error('setup failed');
  const file = join(rig.root, 'sensor-reader.yaml');
  await writeFile(
    file,
    `apiVersion: edgepilot.io/v1
kind: Workload
metadata:
  name: sensor-reader
spec:
  template:
    runtime: container
    image: local/busybox:latest
    command: ["sh", "-c", "sleep 100000 | nc \\"$MCU_TELEMETRY_SERVICE_HOST\\" \\"$MCU_TELEMETRY_SERVICE_PORT\\""]
    services: [mcu-telemetry]
    terminationGracePeriodSeconds: 1
`,
  );
  const applied = await rig.cli(['apply', '-f', file]);
  t.is(applied.code, 0, applied.stderr);
  const line = await waitFor(
    'telemetry in the container\'s output',
    async () => {
      const id = (await docker('ps', '-q', '--filter', `label=io.edgepilot.device=${gatewayId}`, '--filter', 'label=io.edgepilot.workload=sensor-reader')).split('\n')[0];
      if (!id) return undefined;
      return (await docker('logs', '--tail', '5', id)).split('\n').find((l) => l.includes(`"mcu":"${STM_ID}"`));
    },
    60_000,
    500,
  );
  const message = mcuTelemetrySchema.parse(JSON.parse(line));
  t.is(message.model, 'stm32f103');
  t.true(message.channels.some((c) => c.name === 'roll'));
});
