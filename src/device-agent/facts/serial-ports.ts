import { readdir, readFile, readlink, realpath } from 'node:fs/promises';
import { join } from 'node:path';

export interface SerialPortFact {
  path: string;
  manufacturer?: string;
  vendorId?: string;
  productId?: string;
  serialNumber?: string;
}

async function readTrim(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Serial ports from sysfs. Cheaper than loading serialport (+14 MB) on boards that have no
 * MCUs, and it does not need udev (SerialPort.list() crashes without udevadm). Legacy 8250
 * ttyS* entries without a real UART behind them are skipped.
 */
export async function listSerialPorts(sysClassTty = '/sys/class/tty', devDir = '/dev'): Promise<SerialPortFact[]> {
  let names: string[];
  try {
    names = await readdir(sysClassTty);
  } catch {
    return [];
  }
  const ports: SerialPortFact[] = [];
  for (const name of names.sort()) {
    if (!/^tty(USB|ACM|AMA|S|SAC|XRUSB|mxc|FIQ)\d+$/.test(name)) continue;
    const deviceLink = join(sysClassTty, name, 'device');
    // The port's device folder as the kernel resolves it: `device` is a relative link
    // (`../../../ttyUSB0`) and the class entry a link too, so neither the link's text nor a
    // lexical join of `..` onto the link reaches the USB device above the port.
    let target: string;
    try {
      await readlink(deviceLink);
      target = await realpath(deviceLink);
    } catch {
      continue; // virtual tty
    }
    const driver = await readlink(join(deviceLink, 'driver')).catch(() => '');
    if (name.startsWith('ttyS') && driver.endsWith('serial8250') && !(await readTrim(join(deviceLink, 'resources')))) continue;
    const port: SerialPortFact = { path: join(devDir, name) };
    if (target.includes('/usb')) {
      // ttyUSB: device (usb-serial port) → interface → usb device; ttyACM: device (interface) → usb device.
      for (const up of ['..', '../..']) {
        const base = join(target, up);
        const vendorId = await readTrim(join(base, 'idVendor'));
        if (!vendorId) continue;
        const productId = await readTrim(join(base, 'idProduct'));
        const manufacturer = await readTrim(join(base, 'manufacturer'));
        const serialNumber = await readTrim(join(base, 'serial'));
        Object.assign(port, { vendorId, ...(productId ? { productId } : {}), ...(manufacturer ? { manufacturer } : {}), ...(serialNumber ? { serialNumber } : {}) });
        break;
      }
    }
    ports.push(port);
  }
  return ports;
}
