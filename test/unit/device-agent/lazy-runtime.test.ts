// The lazily loaded container runtime: an idle Docker board never loads dockerode, and nothing is
// lost when it does load (exit listeners registered before the load are handed over).
import test from 'ava';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lazyRuntime } from '../../../src/device-agent/runtime/lazy-runtime.js';
import { anyOwnedContainer } from '../../../src/device-agent/runtime/docker/any-owned.js';
import type { InstanceRuntime, ObservedInstance } from '../../../src/device-agent/runtime/runtime.js';

const observed: ObservedInstance = { id: 'web-0', workload: 'web', revision: 'r1', runtime: 'container', state: 'running' };

/** A runtime that records calls and lets the test fire exits; every method not used here throws. */
function fakeRuntime(): InstanceRuntime & { calls: string[]; exit(id: string): void } {
  const listeners = new Set<(id: string) => void>();
  const calls: string[] = [];
  const never = (name: string) => () => Promise.reject(new Error(`${name} not expected`));
  return {
    kind: 'container',
    calls,
    exit: (id) => listeners.forEach((l) => l(id)),
    list: () => (calls.push('list'), Promise.resolve([observed])),
    prepare: never('prepare'),
    start: () => (calls.push('start'), Promise.resolve(observed)),
    stop: never('stop'),
    remove: never('remove'),
    logs: async function* () {
      calls.push('logs');
      yield { stream: 'stdout' as const, text: 'hello' };
    },
    exec: never('exec'),
    probeHost: never('probeHost'),
    usage: never('usage'),
    onExit: (l) => (listeners.add(l), () => void listeners.delete(l)),
    close: () => (calls.push('close'), Promise.resolve()),
  };
}

test('with nothing of its own on the engine, listing answers empty and never loads the runtime', async (t) => {
  let loads = 0;
  const lazy = lazyRuntime({ kind: 'container', hasOwned: async () => false, load: async () => (loads++, fakeRuntime()) });
  t.deepEqual(await lazy.list(), []);
  t.deepEqual(await lazy.list(), []);
  const off = lazy.onExit(() => undefined);
  off();
  await lazy.close();
  t.is(loads, 0);
  t.false(lazy.loaded());
});

test('owned containers on the engine load the runtime, which then answers every listing', async (t) => {
  const real = fakeRuntime();
  let owned = true;
  let asked = 0;
  const lazy = lazyRuntime({ kind: 'container', hasOwned: async () => (asked++, owned), load: async () => real });
  t.deepEqual(await lazy.list(), [observed]);
  owned = false;
  t.deepEqual(await lazy.list(), [observed], 'once loaded, the real runtime answers');
  t.is(asked, 1);
  t.deepEqual(real.calls, ['list', 'list']);
});

test('concurrent first uses load once; exit listeners registered before the load hear exits after it', async (t) => {
  const real = fakeRuntime();
  let loads = 0;
  const lazy = lazyRuntime({ kind: 'container', hasOwned: async () => false, load: async () => (loads++, real) });
  const heard: string[] = [];
  lazy.onExit((id) => heard.push(`a:${id}`));
  const offB = lazy.onExit((id) => heard.push(`b:${id}`));
  offB();
  const signal = new AbortController().signal;
  const template = {} as never;
  await Promise.all([lazy.start(template, signal), lazy.start(template, signal)]);
  t.is(loads, 1);
  t.true(lazy.loaded());
  real.exit('web-0');
  t.deepEqual(heard, ['a:web-0']);
  const lines = [];
  for await (const line of lazy.logs('web-0', {})) lines.push(line.text);
  t.deepEqual(lines, ['hello']);
  await lazy.close();
  t.deepEqual(real.calls, ['start', 'start', 'logs', 'close']);
});

test('a failed load is not remembered: the next use tries again', async (t) => {
  let attempt = 0;
  const lazy = lazyRuntime({
    kind: 'container',
    hasOwned: async () => true,
    load: async () => {
      attempt++;
      if (attempt === 1) throw new Error('chunk missing');
      return fakeRuntime();
    },
  });
  await t.throwsAsync(lazy.list(), { message: 'chunk missing' });
  t.deepEqual(await lazy.list(), [observed]);
  t.is(attempt, 2);
});

/** A Docker engine stand-in on a unix socket answering GET /containers/json. */
async function engine(t: { teardown(fn: () => Promise<void>): void }, answer: (url: string) => [number, string]): Promise<{ socket: string; urls: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'ep-lazy-rt-'));
  const socket = join(dir, 'docker.sock');
  const urls: string[] = [];
  const server: Server = createServer((req, res) => {
    urls.push(req.url ?? '');
    const [status, body] = answer(req.url ?? '');
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  t.teardown(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });
  return { socket, urls };
}

test("the owned-container probe asks for this device's labels and reads an empty list as none", async (t) => {
  const { socket, urls } = await engine(t, () => [200, '[]']);
  t.false(await anyOwnedContainer(socket, 'dev-7'));
  const filters = JSON.parse(new URLSearchParams(urls[0]?.split('?')[1]).get('filters') ?? '{}') as { label: string[] };
  t.deepEqual(filters.label, ['io.edgepilot.managed=true', 'io.edgepilot.device=dev-7']);
});

test('the owned-container probe answers yes to a container, a refusal, garbage or no engine', async (t) => {
  t.true(await anyOwnedContainer((await engine(t, () => [200, '[{"Id":"abc"}]'])).socket, 'dev-7'));
  t.true(await anyOwnedContainer((await engine(t, () => [500, '{"message":"boom"}'])).socket, 'dev-7'));
  t.true(await anyOwnedContainer((await engine(t, () => [200, 'not json'])).socket, 'dev-7'));
  t.true(await anyOwnedContainer(join(tmpdir(), 'ep-no-such-engine.sock'), 'dev-7'));
});
