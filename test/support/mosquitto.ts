import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ManagedProcess } from './processes.js';
import { waitForPort } from './wait.js';

const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p));
/** Debian's mosquitto ships the plugin here (multiarch folder); the list covers other layouts. */
export const DYNSEC_PLUGIN = [
  '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so',
  '/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so',
  '/usr/lib/mosquitto/mosquitto_dynamic_security.so',
  '/usr/local/lib/mosquitto_dynamic_security.so',
].find((p) => existsSync(p));

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

export interface StartedMosquitto {
  /** With dynsec: carries the admin's credentials (what `edgepilot hub --broker` is given). */
  url: string;
  port: number;
  proc: ManagedProcess;
  admin?: { username: string; password: string };
  /** Its config file, to start it again on the same port, accounts and stored messages (`restartMosquitto`). */
  config: string;
}

/**
 * A real Mosquitto on loopback with its own config, as an external broker for the hub. With
 * `dynsec`, anonymous access is off and the dynamic-security plugin holds every account,
 * starting with one admin made by `mosquitto_ctrl dynsec init`.
 */
export async function startMosquitto(dir: string, options: { dynsec?: boolean; persistence?: boolean; /** A restart on the port of a previous one. */ port?: number } = {}): Promise<StartedMosquitto> {
  if (!MOSQUITTO) throw new Error('mosquitto is not installed: run `npm test` (scripts/test.sh installs it) or apt-get install mosquitto');
  const port = options.port ?? (await freePort());
  const config = join(dir, 'mosquitto.conf');
  // With persistence (a deployment's usual setting), retained messages and sessions outlive a restart.
  const lines = [`listener ${port} 127.0.0.1`, ...(options.persistence ? ['persistence true', `persistence_location ${dir}/`] : ['persistence false']), 'log_dest stderr'];
  let admin: StartedMosquitto['admin'];
  if (options.dynsec) {
    if (!DYNSEC_PLUGIN) throw new Error('mosquitto_dynamic_security.so not found: Debian\'s mosquitto package ships it');
    admin = { username: 'admin', password: randomBytes(12).toString('hex') };
    const file = join(dir, 'dynamic-security.json');
    await promisify(execFile)('mosquitto_ctrl', ['dynsec', 'init', file, admin.username, admin.password]);
    // Started as root, Mosquitto drops to the mosquitto user, which cannot read a 0700 test folder.
    lines.push('user root', 'allow_anonymous false', `plugin ${DYNSEC_PLUGIN}`, `plugin_opt_config_file ${file}`);
  } else lines.push('allow_anonymous true');
  await writeFile(config, `${lines.join('\n')}\n`);
  const proc = await spawnMosquitto(config, port);
  const credentials = admin ? `${admin.username}:${admin.password}@` : '';
  return { url: `mqtt://${credentials}127.0.0.1:${port}`, port, proc, config, ...(admin ? { admin } : {}) };
}

/** Starts a stopped Mosquitto again from its config (same port, accounts and, with persistence, messages). */
export async function restartMosquitto(started: StartedMosquitto): Promise<void> {
  started.proc = await spawnMosquitto(started.config, started.port);
}

async function spawnMosquitto(config: string, port: number): Promise<ManagedProcess> {
  if (!MOSQUITTO) throw new Error('mosquitto is not installed');
  const proc = new ManagedProcess('mosquitto', spawn(MOSQUITTO, ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] }));
  await waitForPort('mosquitto', port);
  return proc;
}
