import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** The docker CLI against the engine the test setup started; fails loudly if it is not there. */
export async function docker(...args: string[]): Promise<string> {
  try {
    const { stdout } = await exec('docker', args, { timeout: 60_000 });
    return stdout.trim();
  } catch (err) {
    throw new Error(`docker ${args.join(' ')} failed (is dockerd running? npm test starts it via scripts/start-dockerd.sh): ${(err as Error).message}`);
  }
}

export async function containersOfDevice(deviceId: string): Promise<string[]> {
  const out = await docker('ps', '-aq', '--no-trunc', '--filter', `label=io.edgepilot.device=${deviceId}`);
  return out === '' ? [] : out.split('\n');
}

export async function removeContainersOfDevice(deviceId: string): Promise<void> {
  const ids = await containersOfDevice(deviceId);
  if (ids.length > 0) await docker('rm', '-f', ...ids);
}
