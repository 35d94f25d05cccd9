import test from 'ava';
import { listSerialPorts } from '../../../src/device-agent/facts/serial-ports.js';
import { FTDI_ADAPTER, makeFakeClassTty } from '../../support/fake-sysfs.js';
import { makeTempDir } from '../../support/paths.js';

test('a USB serial adapter laid out as the kernel does is listed with its vendor, product, maker and serial', async (t) => {
  const tmp = await makeTempDir('ep-sysfs-');
  t.teardown(() => tmp.remove());
  const classTty = await makeFakeClassTty(tmp.path);
  t.deepEqual(await listSerialPorts(classTty, '/dev'), [
    { path: '/dev/ttyUSB0', vendorId: FTDI_ADAPTER.vendorId, productId: FTDI_ADAPTER.productId, manufacturer: FTDI_ADAPTER.manufacturer, serialNumber: FTDI_ADAPTER.serial },
  ]);
});
