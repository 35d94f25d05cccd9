import test from 'ava';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { isolatedEnv } from '../support/fleet.js';
import { edgepilotBin, makeTempDir } from '../support/paths.js';
import { ManagedProcess } from '../support/processes.js';
import { checkDurableBeforeAck, parseTrace } from '../support/nemesis/strace-order.js';
import { workloadManifest } from '../support/nemesis/operations.js';

// Durability beyond kill -9 (issue 13): a SIGKILLed hub leaves the page cache behind, so crash tests
// cannot show that an acknowledged write reached the disk. This one reads the hub's system calls:
// every API acknowledgement must come after the fsync of the store's new file and of its folder.

/** Sends one request and resolves with the local port it used and the status, once answered. */
function send(apiUrl: string, token: string, method: string, path: string, body?: unknown): Promise<{ port: number; status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(`${apiUrl}${path}`, { method, headers: { authorization: `Bearer ${token}`, connection: 'close', ...(payload ? { 'content-type': 'application/json' } : {}) } });
    let port = 0;
    req.on('socket', (s) => s.on('connect', () => (port = s.localPort ?? 0)));
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => resolve({ port, status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

test('no API acknowledgement is written to its socket before the store file and its folder are fsynced', async (t) => {
  const tmp = await makeTempDir('ep-strace-');
  const dataDir = join(await realpath(tmp.path), 'hub');
  const traceFile = join(tmp.path, 'trace');
  const hubArgs = ['hub', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--mqtt-listen', '127.0.0.1:0', '--no-write-config', '--insecure'];
  const strace = spawn('strace', ['-f', '-ttt', '-yy', '-s', '64', '-e', 'trace=openat,write,writev,fsync,fdatasync,rename,renameat,renameat2', '-o', traceFile, process.execPath, edgepilotBin, ...hubArgs], {
    env: { ...process.env, ...isolatedEnv(tmp.path) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const hub = new ManagedProcess('hub under strace', strace);
  t.teardown(async () => {
    await hub.kill('SIGKILL');
    await tmp.remove();
  });
  const apiUrl = `http://127.0.0.1:${(await hub.waitForOutput(/API listening on [^:]+:(\d+)/, 60_000))[1] ?? ''}`;
  const token = (await hub.waitForOutput(/Admin token[^\n]*\n\s+(ep_\S+)/))[1] ?? '';

  const writes: { what: string; method: string; path: string; body?: unknown }[] = [
    { what: 'apply a workload', method: 'POST', path: '/v1/apply', body: { manifests: [workloadManifest('strace', 'durable-a', 2, '1')] } },
    { what: 'create a join token', method: 'POST', path: '/v1/tokens', body: { ttlSeconds: 3600 } },
    { what: 'change the workload', method: 'POST', path: '/v1/apply', body: { manifests: [workloadManifest('strace', 'durable-a', 1, '2')] } },
    { what: 'delete the workload', method: 'DELETE', path: '/v1/workloads/durable-a' },
  ];
  const sent: { what: string; since: number; port: number }[] = [];
  for (const w of writes) {
    // Whole milliseconds, floored: strace's microsecond timestamps of this request's calls are never earlier.
    const since = Math.floor(Date.now()) / 1000;
    const answer = await send(apiUrl, token, w.method, w.path, w.body);
    t.true(answer.status >= 200 && answer.status < 300, `${w.what}: ${answer.status} ${answer.text}`);
    sent.push({ what: w.what, since, port: answer.port });
    // Quiet time, so the next request's window holds none of this one's late system calls.
    await new Promise((resolve) => setTimeout(resolve, 300));
  }

  // strace writes its last lines when the traced hub is gone.
  const firstPid = Number(/^(\d+)/.exec(await readFile(traceFile, 'utf8'))?.[1]);
  process.kill(firstPid, 'SIGKILL');
  await hub.exited;
  const calls = parseTrace(await readFile(traceFile, 'utf8'));
  for (const s of sent) {
    const problem = checkDurableBeforeAck(calls, { clientPort: s.port, since: s.since, target: join(dataDir, 'store.json'), folder: dataDir });
    t.is(problem, undefined, `${s.what}: ${problem ?? ''}`);
  }
});
