// The bench's end of the emulated MCU's UART, in the form each emulator handles best:
//  - s51 reads and writes a pty: a socat pair, the emulator on one end, the bench on
//    the other.
//  - QEMU gets a Unix socket the bench listens on (-chardev socket). Its pty backend
//    (-chardev serial,path=<pty>) was measured to stall for seconds whenever the host
//    CPUs are saturated: with two busy loops on this 2-core machine, ten QEMUs on ptys
//    delivered nothing until the load stopped, while the same ten on sockets delivered
//    every telemetry frame on time. Plain pty pairs (Python writer/reader) and s51 on
//    ptys stay at a few ms under the same load, so the stall is in QEMU's tty backend.
// Either way the host side stays a pty: the gateway still opens a real terminal device.
import { unlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { BytePort } from './byte-port.js';
import { openPtyPair } from './pty-pair.js';

export interface UartChannel {
  /** What the emulator is given: the pty path (s51) or the socket path (QEMU). */
  readonly emulatorEndpoint: string;
  write(bytes: Uint8Array): void;
  close(): Promise<void>;
}

export async function openPtyUart(workDirectory: string, bootNumber: number,
  onBytes: (bytes: Uint8Array) => void): Promise<UartChannel> {
  const emulatorEndpoint = path.join(workDirectory, `mcu-uart-${bootNumber}`);
  const benchSide = path.join(workDirectory, `mcu-bench-${bootNumber}`);
  const pair = await openPtyPair(emulatorEndpoint, benchSide);
  let port: BytePort;
  try {
    port = await BytePort.open(benchSide, onBytes);
  } catch (error) {
    await pair.close();
    throw error;
  }
  return {
    emulatorEndpoint,
    write: (bytes) => port.write(bytes),
    async close() {
      await port.close();
      await pair.close();
    },
  };
}

/** Unix socket paths are limited to 107 bytes on Linux. */
const MAX_SOCKET_PATH = 107;

export async function openSocketUart(workDirectory: string, bootNumber: number,
  onBytes: (bytes: Uint8Array) => void): Promise<UartChannel> {
  const emulatorEndpoint = path.join(workDirectory, `mcu-uart-${bootNumber}.sock`);
  if (Buffer.byteLength(emulatorEndpoint) > MAX_SOCKET_PATH) {
    throw new Error(`work directory path too long for a Unix socket: ${emulatorEndpoint}`);
  }
  let connection: net.Socket | undefined;
  const queued: Uint8Array[] = [];
  const server = net.createServer((socket) => {
    if (connection) {
      socket.destroy(); // one UART, one emulator
      return;
    }
    connection = socket;
    socket.setNoDelay(true);
    socket.on('data', (bytes: Buffer) => onBytes(bytes));
    socket.on('error', () => undefined);
    for (const bytes of queued.splice(0)) socket.write(bytes);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(emulatorEndpoint, () => resolve());
  });
  return {
    emulatorEndpoint,
    write(bytes) {
      if (bytes.length === 0) return;
      // Until the emulator connects its UART is not listening either; keep the bytes
      // (boot probes are repeated anyway).
      if (connection) connection.write(bytes);
      else queued.push(bytes);
    },
    async close() {
      connection?.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      try {
        unlinkSync(emulatorEndpoint);
      } catch {
        // already gone
      }
    },
  };
}
