// A hub that cannot start (its API port is taken, after its broker came up) must exit with the
// reason, not live on without an API: a supervisor restarts a process that exits, never one that hangs.
import test from 'ava';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { edgepilotBin, makeTempDir } from '../support/paths.js';
import { isolatedEnv } from '../support/fleet.js';

test('a hub whose API port is taken exits non-zero and says why', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const blocker = createServer();
  blocker.listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  t.teardown(() => blocker.close());
  const address = blocker.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const child = spawn(process.execPath, [edgepilotBin, 'hub', '--insecure', '--no-write-config', '--data-dir', join(dir.path, 'hub'), '--listen', `127.0.0.1:${port}`, '--mqtt-listen', '127.0.0.1:0'], {
    env: isolatedEnv(dir.path),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // A hang is the failure this test exists for: kill it after a minute and report.
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(killer);
  t.is(signal, null, 'the hub kept running without its API and had to be killed');
  t.is(code, 1);
  t.regex(stderr, /error: .*EADDRINUSE.*127\.0\.0\.1/);
});
