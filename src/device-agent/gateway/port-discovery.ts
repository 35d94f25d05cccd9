/**
 * --mcu-discover: candidate MCU ports from serialport's SerialPort.list(). On Linux that
 * runs `udevadm info -e`; where udev is missing (containers, minimal images) the spawn
 * failure once took the whole agent down (ARCHITECTURE.md, "Real parts"). So: look for
 * udevadm on PATH first, bound the call in time, and turn every failure into "no ports"
 * plus one warning. Configured ports (--mcu-port) never depend on this.
 */
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { Logger } from '../../common/log.js';
import { errorMessage } from '../../common/errors.js';

/** USB-serial adapters and CDC-ACM MCUs; on-board UARTs are configured by path instead. */
const CANDIDATE = /^\/dev\/tty(USB|ACM)\d+$/;
const LIST_TIMEOUT_MS = 10_000;

export type ListPorts = () => Promise<readonly { readonly path: string }[]>;

export function safePortLister(list: ListPorts, log: Logger, env: NodeJS.ProcessEnv = process.env): () => Promise<string[]> {
  let warned = false;
  const warnOnce = (message: string): void => {
    if (!warned) log.warn(`MCU port discovery: ${message}; configured --mcu-port ports still work`);
    warned = true;
  };
  return async () => {
    if (process.platform === 'linux' && !(await onPath('udevadm', env))) {
      warnOnce('udevadm is not installed (install udev)');
      return [];
    }
    try {
      const ports = await withTimeout(list(), LIST_TIMEOUT_MS);
      warned = false;
      return ports.map((p) => p.path).filter((path) => CANDIDATE.test(path));
    } catch (err) {
      warnOnce(`listing serial ports failed (${errorMessage(err)})`);
      return [];
    }
  };
}

async function onPath(command: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      await access(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not in this folder
    }
  }
  return false;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
