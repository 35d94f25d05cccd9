import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { captureLog, startTestHub } from '../support/in-process-hub.js';
import { makeTempDir } from '../support/paths.js';
import { runCli } from '../support/processes.js';

const yaml = (name: string): string => `apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: ${name} }
spec:
  replicas: 1
  template: { runtime: process, command: ["sleep", "1000"] }
`;

test('apply --wait asks the hub to answer after placement; plain apply does not', async (t) => {
  const dir = await makeTempDir('ep-apply-wait-');
  t.teardown(() => dir.remove());
  const urls: string[] = [];
  const server = createServer((request, response) => {
    urls.push(request.url ?? '');
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ results: [{ kind: 'Workload', name: 'w', action: 'created' }] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => void server.close());
  const address = server.address();
  const hub = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const file = join(dir.path, 'w.yaml');
  await writeFile(file, yaml('w'));
  const env = { XDG_CONFIG_HOME: join(dir.path, 'config'), HOME: dir.path };
  for (const args of [['apply', '-f', file, '--wait'], ['apply', '-f', file]]) {
    const result = await runCli([...args, '--hub', hub, '--token', 'ep_test-token-value'], env);
    t.is(result.code, 0, result.stderr);
    t.is(result.stdout.trim(), 'workload/w created');
  }
  t.deepEqual(urls, ['/v1/apply?wait=true', '/v1/apply']);
});

test('after apply --wait the placement pass has run: a workload that fits nowhere already says why', async (t) => {
  const dir = await makeTempDir('ep-apply-wait-hub-');
  const log = captureLog();
  const hub = await startTestHub(dir.path, log.logger);
  t.teardown(async () => {
    await hub.close();
    await dir.remove();
  });
  const file = join(dir.path, 'nowhere.yaml');
  await writeFile(file, yaml('nowhere'));
  const env = { XDG_CONFIG_HOME: join(dir.path, 'config'), HOME: dir.path };
  const result = await runCli(['apply', '-f', file, '--wait', '--hub', hub.apiUrl, '--token', hub.createdAdminToken ?? ''], env);
  t.is(result.code, 0, result.stderr);
  const response = await fetch(`${hub.apiUrl}/v1/workloads/nowhere`, { headers: { authorization: `Bearer ${hub.createdAdminToken ?? ''}` } });
  const view = (await response.json()) as { events: { reason: string }[] };
  t.true(view.events.some((e) => e.reason === 'FailedScheduling'), JSON.stringify(view.events));
});
