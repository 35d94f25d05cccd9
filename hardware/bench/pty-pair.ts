// A linked pair of pseudo-terminals made by socat: bytes written to one end come out of
// the other, like the two ends of a null-modem cable. Each end is reachable through a
// symlink we choose, which is what lets a pty "disappear and reappear at the same path".
import { spawn, type ChildProcess } from 'node:child_process';
import { lstatSync, unlinkSync } from 'node:fs';

export interface PtyPair {
  readonly firstPath: string;
  readonly secondPath: string;
  readonly pid: number;
  /** Resolves when socat has exited, for whatever reason. */
  readonly exited: Promise<void>;
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 5000;
const STOP_TIMEOUT_MS = 2000;

function removeStaleLink(linkPath: string): void {
  try {
    if (lstatSync(linkPath).isSymbolicLink()) unlinkSync(linkPath);
  } catch {
    // absent: nothing to remove
  }
}

/** Stops a child by PID: SIGTERM, then SIGKILL if it has not exited in time. */
export async function stopChild(child: ChildProcess, exited: Promise<void>, timeoutMs = STOP_TIMEOUT_MS): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const outcome = await Promise.race([exited.then(() => 'exited' as const), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
}

export async function openPtyPair(firstPath: string, secondPath: string): Promise<PtyPair> {
  removeStaleLink(firstPath);
  removeStaleLink(secondPath);
  const child = spawn(
    'socat',
    ['-d', '-d', `pty,raw,echo=0,link=${firstPath}`, `pty,raw,echo=0,link=${secondPath}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let log = '';
  // With -d -d socat reports "starting data transfer loop" once both ptys and links exist.
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socat not ready after ${READY_TIMEOUT_MS} ms: ${log}`)), READY_TIMEOUT_MS);
    child.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString('utf8');
      if (log.includes('starting data transfer loop')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`socat exited before it was ready: ${log}`));
    });
  });
  try {
    await ready;
  } catch (error) {
    await stopChild(child, exited);
    throw error;
  }
  // Keep draining stderr so socat never blocks on a full pipe.
  child.stderr?.resume();
  const pid = child.pid;
  if (pid === undefined) throw new Error('socat has no pid');
  return {
    firstPath,
    secondPath,
    pid,
    exited,
    async close() {
      await stopChild(child, exited);
      // socat unlinks its links on SIGTERM; after a SIGKILL we do it.
      removeStaleLink(firstPath);
      removeStaleLink(secondPath);
    },
  };
}
