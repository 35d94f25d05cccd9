import test from 'ava';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deviceKeyPath, loadOrCreateDeviceKey } from '../../../src/device-agent/identity/device-key.js';
import { hardwareIdFor, resolveHardwareId } from '../../../src/device-agent/identity/hardware-id.js';
import { makeTempDir } from '../../support/paths.js';

test('two state folders on one machine have two hardware ids; one folder keeps its id', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const machineId = join(dir.path, 'machine-id');
  await writeFile(machineId, `${'3'.repeat(32)}\n`);
  const a = join(dir.path, 'a');
  const b = join(dir.path, 'b');
  await mkdir(a);
  await mkdir(b);
  const idA = await resolveHardwareId(a, undefined, [machineId]);
  const idB = await resolveHardwareId(b, undefined, [machineId]);
  t.not(idA, idB);
  t.is(await resolveHardwareId(a, undefined, [machineId]), idA);
  t.is(await resolveHardwareId(join(a, '.', '..', 'a'), undefined, [machineId]), idA, 'the real path counts, not its spelling');
  t.false(idA.includes('3'.repeat(32)), 'the machine id itself is not published');
  t.is(idA, hardwareIdFor('3'.repeat(32), a));
  t.is(await resolveHardwareId(a, 'soc-serial-1234', [machineId]), 'soc-serial-1234', '--hardware-id overrides');
});

test('the device key is created once, private (0600), and the same after a restart', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const first = await loadOrCreateDeviceKey(dir.path);
  t.is((await stat(deviceKeyPath(dir.path))).mode & 0o777, 0o600);
  const again = await loadOrCreateDeviceKey(dir.path);
  t.is(again.publicKey, first.publicKey);
  t.regex(first.publicKey, /^MCowBQYDK2VwAyEA[A-Za-z0-9+/]{43}=$/);
});
