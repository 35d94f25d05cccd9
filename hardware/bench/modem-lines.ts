// The bench end of modem-lines/modem_lines.c: a gateway preloaded with that library sends
// the DTR/RTS state it sets on the bench's pty to a Unix socket named after the pty
// (<directory>/pts-N); the bench acts on it (cuts or restores the MCU's power) and only
// then acknowledges, so the gateway's set() returns after the switch has moved.
import { realpathSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export interface ModemLines {
  readonly dtr: boolean;
  readonly rts: boolean;
}

export class ModemLinesListener {
  private constructor(
    private readonly server: net.Server,
    readonly socketPath: string,
  ) {}

  /** Listen for the pty behind `hostPath` (a symlink to /dev/pts/N made by socat). */
  static async listen(directory: string, hostPath: string, onChange: (lines: ModemLines) => void): Promise<ModemLinesListener> {
    const pts = /^\/dev\/pts\/(\d+)$/.exec(realpathSync(hostPath));
    if (!pts) throw new Error(`${hostPath} is not a pseudo-terminal`);
    const socketPath = path.join(directory, `pts-${pts[1]}`);
    rmSync(socketPath, { force: true });
    const server = net.createServer((socket) => {
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString('latin1');
        const match = /^dtr=([01]) rts=([01])\n/.exec(text);
        if (!match) return;
        onChange({ dtr: match[1] === '1', rts: match[2] === '1' });
        socket.end('k');
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    return new ModemLinesListener(server, socketPath);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
