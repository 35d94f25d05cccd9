import { createServer, type Server, type Socket } from 'node:net';
import type { McuTelemetry } from '../../protocol/index.js';

/** A reader this far behind loses lines rather than growing the agent's memory. */
const MAX_BUFFERED_BYTES = 64 * 1024;

/**
 * MCUs as a service (issue 14): a local TCP port on a gateway that streams every attached MCU's
 * telemetry as JSON lines (the same messages the hub receives, each naming its `mcu`), so a
 * container on the gateway reads the sensor without opening the serial port, which the gateway
 * holds. A workload lists `mcu-telemetry` in `template.services` to get
 * `MCU_TELEMETRY_SERVICE_HOST/PORT`; a reader may filter by `mcu`.
 */
export class McuTelemetryServer {
  private readonly clients = new Set<Socket>();
  private server: Server | undefined;

  async listen(host: string, port: number): Promise<number> {
    // A reader that half-closes (`nc` at the end of its stdin) keeps receiving.
    const server = createServer({ allowHalfOpen: true }, (socket) => {
      this.clients.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => this.clients.delete(socket));
      // Readers only read; anything they send is ignored.
      socket.on('data', () => undefined);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const address = server.address();
    return typeof address === 'object' && address ? address.port : port;
  }

  publish(message: McuTelemetry): void {
    if (this.clients.size === 0) return;
    const line = `${JSON.stringify(message)}\n`;
    for (const client of this.clients) if (client.writableLength < MAX_BUFFERED_BYTES) client.write(line);
  }

  get readers(): number {
    return this.clients.size;
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.destroy();
    this.clients.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
