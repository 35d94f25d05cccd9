// A /sys/class/tty folder with a USB serial adapter in it, shaped the way the kernel lays one
// out, for a machine that has none: the class entry links to the tty device under the adapter's
// usb-serial port, whose `device` link goes up to that port (`../../../ttyUSB0`), whose
// `driver` is ftdi_sio, under the USB interface `1-1:1.0`, under the USB device `1-1` that
// has idVendor, idProduct, manufacturer and serial. Bind-mounted over /sys/class/tty (in a
// private mount namespace) it makes the agent's facts list the port as on a real board.
import { mkdir, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

export interface FakeUsbSerial {
  /** ttyUSB<N>: the name under /sys/class/tty and /dev. */
  name: string;
  vendorId: string;
  productId: string;
  manufacturer: string;
  serial: string;
}

export const FTDI_ADAPTER: FakeUsbSerial = { name: 'ttyUSB0', vendorId: '0403', productId: '6001', manufacturer: 'FTDI', serial: 'A10K3X9Q' };

/**
 * Builds `<root>/sys/...` and returns the folder to use as /sys/class/tty. Its entries link
 * with absolute paths into `<root>/sys/devices` (the crafted adapter), and, when `keepFrom` is
 * given, to the real devices behind that folder's entries, so the machine's own ttys stay.
 */
export async function makeFakeClassTty(root: string, adapter: FakeUsbSerial = FTDI_ADAPTER, keepFrom?: string): Promise<string> {
  const sys = join(root, 'sys');
  const usbDevice = join(sys, 'devices', 'pci0000:00', '0000:00:14.0', 'usb1', '1-1');
  const port = join(usbDevice, '1-1:1.0', adapter.name);
  const ttyDevice = join(port, 'tty', adapter.name);
  const driver = join(sys, 'bus', 'usb-serial', 'drivers', 'ftdi_sio');
  const classTty = join(sys, 'class', 'tty');
  for (const dir of [ttyDevice, driver, classTty]) await mkdir(dir, { recursive: true });
  await writeFile(join(usbDevice, 'idVendor'), `${adapter.vendorId}\n`);
  await writeFile(join(usbDevice, 'idProduct'), `${adapter.productId}\n`);
  await writeFile(join(usbDevice, 'manufacturer'), `${adapter.manufacturer}\n`);
  await writeFile(join(usbDevice, 'serial'), `${adapter.serial}\n`);
  await writeFile(join(ttyDevice, 'dev'), '188:0\n');
  await symlink(`../../../${adapter.name}`, join(ttyDevice, 'device'));
  await symlink('../../../../../../../bus/usb-serial/drivers/ftdi_sio', join(port, 'driver'));
  await symlink(ttyDevice, join(classTty, adapter.name));
  if (keepFrom) {
    for (const name of await readdir(keepFrom)) {
      if (name === adapter.name) continue;
      const link = join(keepFrom, name);
      const target = await readlink(link).catch(() => undefined);
      if (target) await symlink(resolve(dirname(link), target), join(classTty, name));
    }
  }
  return classTty;
}
