// The agent's service proxy and endpoint cache on loopback: connections reach an endpoint, move
// to another when one stops answering, and the kept document serves after a restart.
import test from 'ava';
import { createConnection, createServer, type Server } from 'node:net';
import { createLogger } from '../../../src/common/log.js';
import type { DeviceEvent, DeviceService, DeviceServices } from '../../../src/protocol/index.js';
import { ServiceProxy } from '../../../src/device-agent/services/service-proxy.js';
import { ServicesAgent } from '../../../src/device-agent/services/services-agent.js';
import { withServiceEnv } from '../../../src/device-agent/services/service-env.js';
import { templateSchema } from '../../../src/protocol/index.js';
import { makeTempDir } from '../../support/paths.js';
import { waitFor } from '../../support/wait.js';

const log = createLogger('test', 'error');

/** A server that answers every connection with its name and closes. */
async function namedServer(name: string): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.end(`${name}\n`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0 };
}

async function freePort(): Promise<number> {
  const { server, port } = await namedServer('x');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** What a connection to the proxy port reads ('' when it is closed without an answer). */
function ask(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('close', () => resolve(text.trim()));
    socket.on('error', () => resolve(''));
  });
}

function web(port: number, endpoints: [string, number, 'device' | 'site' | 'other'][]): DeviceService {
  return {
    name: 'web',
    ports: [{ port, targetPort: 80, protocol: 'TCP' }],
    endpoints: endpoints.map(([id, p, locality]) => ({ deviceId: id, instance: 'web', host: '127.0.0.1', ports: [{ targetPort: 80, port: p }], locality })),
  };
}

test('connections go to the same device first; when it stops answering, to the other endpoint, with one event', async (t) => {
  const a = await namedServer('a');
  const b = await namedServer('b');
  const events: Omit<DeviceEvent, 'time'>[] = [];
  const proxy = new ServiceProxy({ listenHost: '127.0.0.1', now: Date.now, connectTimeoutMs: 1000, event: (e) => events.push(e), log });
  t.teardown(() => proxy.close());
  const port = await freePort();
  await proxy.update([web(port, [['b', b.port, 'other'], ['a', a.port, 'device']])]);
  t.deepEqual(proxy.ports(), [port]);
  t.is(await ask(port), 'a');
  t.is(await ask(port), 'a');
  await new Promise<void>((resolve) => a.server.close(() => resolve()));
  t.is(await ask(port), 'b', 'the refused endpoint is skipped within the same connection');
  t.is(await ask(port), 'b');
  t.deepEqual(events.map((e) => e.reason), ['EndpointDropped']);
  t.regex(events[0]?.message ?? '', /endpoint a\/web .*ECONNREFUSED/);
  await new Promise<void>((resolve) => b.server.close(() => resolve()));
});

test('round-robin within a tier; a service left out of the document closes its port', async (t) => {
  const a = await namedServer('a');
  const b = await namedServer('b');
  const proxy = new ServiceProxy({ listenHost: '127.0.0.1', now: Date.now, connectTimeoutMs: 1000, event: () => undefined, log });
  t.teardown(async () => {
    await proxy.close();
    a.server.close();
    b.server.close();
  });
  const port = await freePort();
  await proxy.update([web(port, [['a', a.port, 'site'], ['b', b.port, 'site']])]);
  const answers = [await ask(port), await ask(port), await ask(port), await ask(port)];
  t.deepEqual([...answers].sort(), ['a', 'a', 'b', 'b']);
  await proxy.update([]);
  t.deepEqual(proxy.ports(), []);
  t.is(await ask(port), '');
});

test('the services agent keeps the document on disk and serves from it after a restart, before any hub message', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const a = await namedServer('a');
  t.teardown(() => a.server.close());
  const port = await freePort();
  const options = { stateDir: dir.path, env: { proxyHost: '127.0.0.1', containerHasOwnNetwork: false }, connectTimeoutMs: 1000, event: () => undefined, log };
  const first = new ServicesAgent(options);
  await first.start();
  const document: DeviceServices = { version: 1, issuedAt: '2026-05-04T12:00:00Z', services: [web(port, [['a', a.port, 'device']])] };
  await first.received(Buffer.from(JSON.stringify(document)));
  t.is(await ask(port), 'a');
  await first.stop();
  const second = new ServicesAgent(options);
  await second.start();
  t.teardown(() => second.stop());
  t.deepEqual(second.listeningPorts(), [port]);
  await waitFor('the kept endpoint answers', async () => (await ask(port)) === 'a');
  t.pass();
});

test('a starting instance gets HOST and PORT of each service it uses; a container with its own network reaches the proxy by name', (t) => {
  const document: DeviceServices = { version: 1, issuedAt: '2026-05-04T12:00:00Z', services: [{ ...web(18080, []), ports: [{ name: 'http', port: 18080, targetPort: 80, protocol: 'TCP' }] }] };
  const instance = { id: 'client', workload: 'client', revision: 'aaaaaaaa', template: templateSchema.parse({ runtime: 'container', image: 'busybox', services: ['web', 'db', 'mcu-telemetry'] }) };
  const onHost = withServiceEnv(instance, document, { proxyHost: '127.0.0.1', containerHasOwnNetwork: false, mcuTelemetryPort: 7390 });
  t.like(onHost.instance.template.env, { WEB_SERVICE_HOST: '127.0.0.1', WEB_SERVICE_PORT: '18080', WEB_SERVICE_PORT_HTTP: '18080', MCU_TELEMETRY_SERVICE_PORT: '7390', DB_SERVICE_HOST: '127.0.0.1' });
  t.deepEqual(onHost.missing, ['db']);
  t.is(instance.template.env['WEB_SERVICE_HOST'], undefined, 'the desired instance itself is not changed');
  const bridged = withServiceEnv(instance, document, { proxyHost: '127.0.0.1', containerHasOwnNetwork: true });
  t.is(bridged.instance.template.env['WEB_SERVICE_HOST'], 'web');
});

test('a start that lists a service not known yet waits for its document (the hub sends it after the desired one); past the wait it starts without', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const port = await freePort();
  const agent = new ServicesAgent({ stateDir: dir.path, env: { proxyHost: '127.0.0.1', containerHasOwnNetwork: false }, connectTimeoutMs: 1000, event: () => undefined, log, serviceWaitMs: 60_000 });
  await agent.start();
  t.teardown(() => agent.stop());
  const instance = { id: 'client', workload: 'client', revision: 'aaaaaaaa', template: templateSchema.parse({ runtime: 'process', command: ['true'], services: ['web'] }) };
  const starting = agent.decorate(instance);
  // A document without the service wakes the start, which goes on waiting.
  await agent.received(Buffer.from(JSON.stringify({ version: 1, issuedAt: '2026-05-04T12:00:00Z', services: [] } satisfies DeviceServices)));
  await agent.received(Buffer.from(JSON.stringify({ version: 2, issuedAt: '2026-05-04T12:00:01Z', services: [web(port, [])] } satisfies DeviceServices)));
  t.like((await starting).template.env, { WEB_SERVICE_HOST: '127.0.0.1', WEB_SERVICE_PORT: String(port) });
  const short = new ServicesAgent({ stateDir: dir.path, env: { proxyHost: '127.0.0.1', containerHasOwnNetwork: false }, connectTimeoutMs: 1000, event: () => undefined, log, serviceWaitMs: 50 });
  const other = { ...instance, template: templateSchema.parse({ runtime: 'process', command: ['true'], services: ['db'] }) };
  const started = await short.decorate(other);
  t.is(started.template.env['DB_SERVICE_PORT'], undefined);
  t.is(started.template.env['DB_SERVICE_HOST'], '127.0.0.1');
});

test('a client that half-closes after its request still gets the whole answer', async (t) => {
  // Like `printf 'GET …' | nc`: the request ends with a FIN, the answer comes after it.
  const server = createServer({ allowHalfOpen: true }, (s) => {
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('end', () => setTimeout(() => s.end(`got ${got}`), 50));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const upstreamPort = typeof address === 'object' && address ? address.port : 0;
  const proxy = new ServiceProxy({ listenHost: '127.0.0.1', now: Date.now, connectTimeoutMs: 1000, event: () => undefined, log });
  t.teardown(async () => {
    await proxy.close();
    server.close();
  });
  const port = await freePort();
  await proxy.update([web(port, [['a', upstreamPort, 'device']])]);
  const answer = await new Promise<string>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port, allowHalfOpen: true });
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('close', () => resolve(text));
    socket.on('error', () => resolve(text));
    socket.end('ping');
  });
  t.is(answer, 'got ping');
});
