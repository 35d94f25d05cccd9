import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { ManagedProcess } from './processes.js';
import { waitFor } from './wait.js';

const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p));

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

/** A real Mosquitto on loopback with its own config, as an external broker for the hub. */
export async function startMosquitto(dir: string): Promise<{ url: string; proc: ManagedProcess }> {
  if (!MOSQUITTO) throw new Error('mosquitto is not installed: run `npm test` (scripts/test.sh installs it) or apt-get install mosquitto');
  const port = await freePort();
  const config = join(dir, 'mosquitto.conf');
  await writeFile(config, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'log_dest stderr', ''].join('\n'));
  const proc = new ManagedProcess('mosquitto', spawn(MOSQUITTO, ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] }));
  await waitFor(
    'mosquitto to accept connections',
    () =>
      new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      }),
    10_000,
  );
  return { url: `mqtt://127.0.0.1:${port}`, proc };
}
