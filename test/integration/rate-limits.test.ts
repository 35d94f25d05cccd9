// Rate limits at the hub (issue 13): a flooding device is throttled with one event saying so
// while a quiet device's reports still land; the join path refuses a connection storm with
// 429 + Retry-After over HTTP and a refused CONNACK (3, server unavailable) over MQTT.
import test from 'ava';
import mqtt, { type MqttClient } from 'mqtt';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { startHub, type RunningHub } from '../../src/hub/main.js';
import { defaultDeviceMessageLimits } from '../../src/hub/limits/device-message-throttle.js';
import { JOIN_USERNAME, desiredStateSchema, joinClientId, topics, type DesiredState } from '../../src/protocol/index.js';
import { gatewayFacts } from '../support/facts-fixture.js';
import { captureLog, registerTestDevice } from '../support/in-process-hub.js';
import { makeTempDir } from '../support/paths.js';
import { waitFor } from '../support/wait.js';

interface Device {
  deviceId: string;
  hostname: string;
  client: MqttClient;
  desired?: DesiredState;
}

const ctx = {} as { hub: RunningHub; admin: string; flood: Device; quiet: Device; remove(): Promise<void> };

async function api(path: string, init: { method?: string; body?: unknown } = {}): Promise<unknown> {
  const response = await fetch(`${ctx.hub.apiUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${ctx.admin}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
    ...(init.body ? { body: JSON.stringify(init.body) } : {}),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

async function bringOnline(hardwareId: string): Promise<Device> {
  const log = captureLog('test');
  const { deviceId, password } = await registerTestDevice(ctx.hub, hardwareId, log.logger);
  const hostname = `host-${hardwareId}`;
  const client = await mqtt.connectAsync(ctx.hub.brokerUrl, { clientId: deviceId, username: deviceId, password, reconnectPeriod: 0 });
  const device: Device = { deviceId, hostname, client };
  client.on('message', (_topic, payload) => {
    const parsed = desiredStateSchema.safeParse(JSON.parse(payload.toString('utf8')));
    if (parsed.success) device.desired = parsed.data;
  });
  await client.subscribeAsync(topics.desired(deviceId), { qos: 1 });
  const status = { state: 'online', reason: 'connected', agentVersion: 'test', bootId: 'boot', sessionId: randomUUID(), since: new Date().toISOString() };
  await client.publishAsync(topics.status(deviceId), JSON.stringify(status), { qos: 1, retain: true });
  await client.publishAsync(topics.facts(deviceId), JSON.stringify(gatewayFacts({ hostname })), { qos: 1, retain: true });
  return device;
}

/** What an agent would report for its desired document: every instance running. */
function runningReport(desired: DesiredState): string {
  return JSON.stringify({
    observedGeneration: desired.generation,
    time: new Date().toISOString(),
    instances: desired.instances.map((i) => ({ id: i.id, workload: i.workload, revision: i.revision, runtime: 'process', phase: 'running', ready: true, restarts: 0 })),
  });
}

test.before(async () => {
  const tmp = await makeTempDir('ep-limits-');
  const log = captureLog();
  ctx.hub = await startHub(
    {
      dataDir: join(tmp.path, 'hub'),
      apiHost: '127.0.0.1',
      apiPort: 0,
      mqttHost: '127.0.0.1',
      mqttPort: 0,
      autoscaleIntervalSeconds: 15,
      logLevel: 'debug',
      // Plain listeners: this test is about rate limits, not TLS (test/integration/tls.test.ts is).
      insecure: true,
      limits: {
        // Small limits so a test-sized flood crosses them; refills slow enough to be reached on a busy machine.
        deviceMessages: { ...defaultDeviceMessageLimits, events: { perSecond: 1, capacity: 10 }, reported: { perSecond: 1, capacity: 10 } },
        join: { perSource: { perSecond: 0.2, capacity: 6 }, global: { perSecond: 100, capacity: 1000 } },
      },
    },
    log.logger,
  );
  ctx.admin = ctx.hub.createdAdminToken ?? '';
  ctx.flood = await bringOnline('limits-flood');
  ctx.quiet = await bringOnline('limits-quiet');
  ctx.remove = async () => {
    for (const d of [ctx.flood, ctx.quiet]) d?.client.end(true);
    await ctx.hub.close();
    await tmp.remove();
  };
});

test.after.always(async () => ctx.remove?.());

test.serial("a flooding device is throttled with one event saying so; the quiet device's reports and events still land", async (t) => {
  await api('/v1/apply', {
    method: 'POST',
    body: { manifests: [{ apiVersion: 'edgepilot.io/v1', kind: 'Workload', metadata: { name: 'everywhere' }, spec: { replicas: 'all', template: { runtime: 'process', command: ['sleep', '1000'] } } }] },
  });
  const quietDesired = await waitFor('the quiet device\'s desired document', () => (ctx.quiet.desired?.instances.length ? ctx.quiet.desired : undefined));
  const floodDesired = await waitFor('the flooding device\'s desired document', () => (ctx.flood.desired?.instances.length ? ctx.flood.desired : undefined));

  const event = (n: number): string => JSON.stringify({ time: new Date().toISOString(), type: 'Normal', reason: 'Flood', message: `event ${n}` });
  const floodReport = JSON.stringify({ observedGeneration: 0, time: new Date().toISOString(), instances: [] });
  const flooding = Promise.all([
    ...Array.from({ length: 400 }, (_, n) => ctx.flood.client.publishAsync(topics.events(ctx.flood.deviceId), event(n), { qos: 1 })),
    ...Array.from({ length: 200 }, () => ctx.flood.client.publishAsync(topics.reported(ctx.flood.deviceId), floodReport, { qos: 1 })),
  ]);
  // The quiet device speaks in the middle of the flood.
  await ctx.quiet.client.publishAsync(topics.reported(ctx.quiet.deviceId), runningReport(quietDesired), { qos: 1, retain: true });
  for (const n of [1, 2, 3]) await ctx.quiet.client.publishAsync(topics.events(ctx.quiet.deviceId), JSON.stringify({ time: new Date().toISOString(), type: 'Normal', reason: 'Quiet', message: `quiet ${n}` }), { qos: 1 });
  await flooding;
  // Its last word, sent while still over its rate: superseded reports are dropped, not this one.
  await ctx.flood.client.publishAsync(topics.reported(ctx.flood.deviceId), runningReport(floodDesired), { qos: 1, retain: true });

  type View = { status: { instances: { device: string; phase: string }[] } };
  const view = await waitFor('the quiet device\'s instance reported running', async () => {
    const w = (await api('/v1/workloads/everywhere')) as View;
    return w.status.instances.some((i) => i.device === ctx.quiet.deviceId && i.phase === 'running') ? w : undefined;
  });
  t.truthy(view);

  const events = async (id: string): Promise<{ reason: string; message: string }[]> => ((await api(`/v1/devices/${id}`)) as { events: { reason: string; message: string }[] }).events;
  const quietEvents = await waitFor('the quiet device\'s three events', async () => {
    const list = await events(ctx.quiet.deviceId);
    return list.filter((e) => e.reason === 'Quiet').length === 3 ? list : undefined;
  });
  t.false(quietEvents.some((e) => e.reason === 'MessagesThrottled'));
  const floodEvents = await waitFor('the throttle event', async () => {
    const list = await events(ctx.flood.deviceId);
    return list.some((e) => e.reason === 'MessagesThrottled') ? list : undefined;
  });
  const notices = floodEvents.filter((e) => e.reason === 'MessagesThrottled');
  t.is(notices.length, 1, 'one event per interval, not one per dropped message');
  t.regex(notices[0]?.message ?? '', new RegExp(`${ctx.flood.deviceId} sent (events|reported) faster than 1/s`));
  t.true(floodEvents.filter((e) => e.reason === 'Flood').length < 400, 'excess events were dropped');
  t.true(ctx.hub.link.stats.throttled > 0);
  await waitFor("the flooding device's newest report, taken once its rate allowed", async () => {
    const w = (await api('/v1/workloads/everywhere')) as View;
    return w.status.instances.some((i) => i.device === ctx.flood.deviceId && i.phase === 'running');
  });
});

test.serial('the HTTP join path answers a storm from one address with 429 and Retry-After', async (t) => {
  const answers = [];
  for (let i = 0; i < 20; i++) answers.push(await fetch(`${ctx.hub.apiUrl}/v1/bootstrap`));
  const refused = answers.filter((a) => a.status === 429);
  t.true(answers[0]?.status === 200);
  t.true(refused.length >= 10, `${refused.length} of 20 refused`);
  const first = refused[0];
  t.regex(first?.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
  t.like(await first?.json(), { error: 'TooManyRequests' });
});

test.serial('the MQTT join path refuses a connection storm from one address with CONNACK 3; device logins are not limited', async (t) => {
  const token = (await ctx.hub.tokens.create({ ttlSeconds: 600, labels: {}, description: 'storm' })).token;
  const codes: (number | 'ok')[] = [];
  for (let i = 0; i < 20; i++) {
    const nonce = randomUUID().replaceAll('-', '');
    try {
      const client = await mqtt.connectAsync(ctx.hub.brokerUrl, { clientId: joinClientId(nonce), username: JOIN_USERNAME, password: token, reconnectPeriod: 0 });
      codes.push('ok');
      await client.endAsync(true);
    } catch (err) {
      codes.push((err as { code?: number }).code ?? -1);
    }
  }
  t.true(codes.filter((c) => c === 3).length >= 10, codes.join(','));
  t.true(codes.every((c) => c === 'ok' || c === 3), codes.join(','));
  // A registered device still connects with its own credentials meanwhile.
  t.true(ctx.quiet.client.connected);
});
