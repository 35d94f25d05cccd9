import test from 'ava';
import { captureLog, startTestHub } from '../support/in-process-hub.js';
import { makeTempDir } from '../support/paths.js';
import { waitFor } from '../support/wait.js';

// GET /v1/changes (the dashboard's live updates): notices of the kinds asked for, after writes.
test('the change stream tells a page of writes of its kind, refuses unknown kinds, and needs a token', async (t) => {
  const tmp = await makeTempDir('ep-changes-');
  t.teardown(() => tmp.remove());
  const hub = await startTestHub(tmp.path, captureLog().logger);
  t.teardown(() => hub.close());
  const auth = { authorization: `Bearer ${hub.createdAdminToken ?? ''}` };
  t.is((await fetch(`${hub.apiUrl}/v1/changes`)).status, 401);
  const bad = await fetch(`${hub.apiUrl}/v1/changes?kinds=rollouts,secrets`, { headers: auth });
  t.is(bad.status, 400);
  t.regex(((await bad.json()) as { message: string }).message, /unknown secrets/);

  const controller = new AbortController();
  t.teardown(() => controller.abort());
  const response = await fetch(`${hub.apiUrl}/v1/changes?kinds=workloads`, { headers: auth, signal: controller.signal });
  t.is(response.status, 200);
  const lines: string[] = [];
  void (async () => {
    const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const chunk = await reader?.read().catch(() => undefined);
      if (!chunk || chunk.done) return;
      lines.push(...chunk.value.split('\n').filter((l) => l.trim() !== ''));
    }
  })();
  const manifest = { apiVersion: 'edgepilot.io/v1', kind: 'Workload', metadata: { name: 'web' }, spec: { replicas: 1, template: { runtime: 'process', command: ['/bin/true'] } } };
  const applied = await fetch(`${hub.apiUrl}/v1/apply`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ manifests: [manifest] }) });
  t.is(applied.status, 200, await applied.text());
  await waitFor('a workloads notice', () => lines.length > 0, 10_000);
  t.true(lines.every((l) => l === '{"kind":"workloads"}'), lines.join(' | '));
  // A burst is coalesced: one notice per kind per quarter second, not one per change.
  t.true(lines.length <= 3, `${lines.length} notices`);
});
