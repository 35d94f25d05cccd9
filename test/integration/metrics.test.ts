import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { parse, stringify } from 'yaml';
import { topics } from '../../src/protocol/index.js';
import { gatewayFacts } from '../support/facts-fixture.js';
import { captureLog, registerTestDevice, startTestHub } from '../support/in-process-hub.js';
import { freePort } from '../support/mosquitto.js';
import { makeTempDir, repoRoot } from '../support/paths.js';
import { ManagedProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

/**
 * Issue 16: the hub's `/metrics`, checked by Prometheus' own tools: `promtool check metrics`
 * lints the exposition, and a real Prometheus (Debian's, installed by scripts/test.sh) scrapes the
 * hub with a token and answers queries about the fleet, including a device's own usage sample
 * relayed by the hub.
 */
interface ScrapeConfig {
  scrape_configs: { job_name: string; authorization: { credentials_file: string }; static_configs: { targets: string[] }[] }[];
}

/** The `prometheus.yml` block of README.md's monitoring section. */
async function readmeScrapeConfig(): Promise<ScrapeConfig> {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
  const block = /```yaml\n# prometheus\.yml\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no ```yaml block starting with "# prometheus.yml"');
  return parse(block) as ScrapeConfig;
}

const PROMTOOL = '/usr/bin/promtool';
const PROMETHEUS = '/usr/bin/prometheus';

test('/metrics needs a token, passes promtool, and a real Prometheus scrapes devices, instances, traffic and device usage', async (t) => {
  const tmp = await makeTempDir('ep-metrics-');
  t.teardown(() => tmp.remove());
  const log = captureLog();
  const hub = await startTestHub(tmp.path, log.logger);
  t.teardown(() => hub.close());
  const token = hub.createdAdminToken ?? '';

  const device = await registerTestDevice(hub, 'metrics-board', log.logger);
  const client = await mqtt.connectAsync(hub.brokerUrl, { clientId: device.deviceId, username: device.deviceId, password: device.password, reconnectPeriod: 0 });
  t.teardown(() => client.endAsync(true));
  const status = { state: 'online', reason: 'connected', agentVersion: 'test', bootId: 'b', sessionId: 's1', since: new Date().toISOString() };
  await client.publishAsync(topics.status(device.deviceId), JSON.stringify(status), { qos: 1, retain: true });
  await client.publishAsync(topics.facts(device.deviceId), JSON.stringify(gatewayFacts({ hostname: 'metrics-board' })), { qos: 1, retain: true });
  const sample = {
    time: new Date().toISOString(),
    device: { cpuPercent: 42.5, memoryUsedBytes: 123_456_789 },
    instances: [{ id: 'tilt-reader-0', workload: 'tilt-reader', cpuPercent: 3.5, memoryBytes: 8_388_608, custom: { queue_depth: 7 } }],
  };
  const sendSample = (): Promise<unknown> => client.publishAsync(topics.device(device.deviceId, 'metrics'), JSON.stringify({ ...sample, time: new Date().toISOString() }), { qos: 1 });
  await sendSample();

  const unauthorised = await fetch(`${hub.apiUrl}/metrics`);
  t.is(unauthorised.status, 401, 'fleet shape and device names are not for anyone on the network');

  const scrape = async (): Promise<string> => {
    const response = await fetch(`${hub.apiUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    t.is(response.status, 200);
    t.regex(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return response.text();
  };
  const body = await waitFor('the device online in /metrics', async () => {
    const text = await scrape();
    return /^edgepilot_devices\{status="online"\} 1$/m.test(text) && /edgepilot_device_cpu_usage_percent\{device="[^"]+"\} 42\.5/.test(text) ? text : undefined;
  });
  for (const name of ['edgepilot_mqtt_messages_total', 'edgepilot_mqtt_bytes_total', 'edgepilot_placement_pass_duration_seconds_bucket', 'edgepilot_store_write_duration_seconds_bucket', 'edgepilot_hub_process_resident_memory_bytes']) {
    t.true(body.includes(name), `${name} is exposed`);
  }
  t.regex(body, /^edgepilot_mqtt_messages_total\{direction="in"\} [1-9]/m);
  t.regex(body, /^edgepilot_instance_memory_bytes\{device="[^"]+",workload="tilt-reader",instance="tilt-reader-0"\} 8388608$/m);
  t.regex(body, /^edgepilot_instance_custom_metric\{device="[^"]+",workload="tilt-reader",instance="tilt-reader-0",name="queue_depth"\} 7$/m);

  // Prometheus' linter: names, units, help texts, counter suffixes. prom-client's default Node.js
  // gauges named `…_total` are the only findings allowed (they are the library's, kept because
  // dashboards for Node.js processes expect them); any finding about our own metrics fails.
  const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: body, encoding: 'utf8' });
  t.falsy(lint.error, `promtool: ${lint.error?.message}`);
  const allowed = /^edgepilot_hub_nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;
  const findings = `${lint.stdout}${lint.stderr}`.split('\n').filter((line) => line.trim() !== '' && !allowed.test(line.trim()));
  t.deepEqual(findings, [], 'promtool check metrics');

  // A real Prometheus scraping the hub with the token, as a plant's monitoring would.
  const port = await freePort();
  const api = new URL(hub.apiUrl);
  await writeFile(join(tmp.path, 'token'), token, { mode: 0o600 });
  // The README's scrape job, as written there, pointed at this hub and this token file.
  const config = await readmeScrapeConfig();
  const job = config.scrape_configs[0];
  if (!job) throw new Error('README.md: the prometheus.yml block has no scrape job');
  job.authorization.credentials_file = join(tmp.path, 'token');
  job.static_configs = [{ targets: [api.host] }];
  await writeFile(join(tmp.path, 'prometheus.yml'), stringify({ global: { scrape_interval: '1s', evaluation_interval: '1s' }, ...config }));
  const prometheus = new ManagedProcess(
    'prometheus',
    spawn(PROMETHEUS, [`--config.file=${join(tmp.path, 'prometheus.yml')}`, `--storage.tsdb.path=${join(tmp.path, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  t.teardown(() => prometheus.kill());
  const query = async (expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[] | undefined> => {
    const response = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(expr)}`).catch(() => undefined);
    if (!response?.ok) return undefined;
    const answer = (await response.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    return answer.data.result.length > 0 ? answer.data.result : undefined;
  };
  const up = await waitFor('Prometheus to scrape the hub', async () => {
    await sendSample(); // samples older than two minutes are left out; keep this one fresh
    return query('up{job="edgepilot"} == 1');
  }, 60_000, 500).catch((err: unknown) => {
    t.log(prometheus.output.slice(-3000));
    throw err;
  });
  t.is(up.length, 1);
  const online = await waitFor('devices by status in Prometheus', () => query('edgepilot_devices{status="online"}'), 30_000, 500);
  t.is(online[0]?.value[1], '1');
  const cpu = await waitFor('a device sample relayed by the hub', () => query('edgepilot_device_cpu_usage_percent'), 30_000, 500);
  t.is(cpu[0]?.metric.device, device.deviceId);
  t.is(cpu[0]?.value[1], '42.5');
  const received = await waitFor('MQTT traffic in Prometheus', () => query('edgepilot_mqtt_bytes_total{direction="in"} > 0'), 30_000, 500);
  t.is(received.length, 1);
});
