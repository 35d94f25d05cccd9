import test from 'ava';
import { cronJobManifestSchema, jobManifestSchema, jobRunsMessageSchema, parseTopic, topics, validate } from '../../../src/protocol/index.js';
import { mayPublish, maySubscribe } from '../../../src/hub/broker/access-policy.js';

const template = { runtime: 'process', command: ['/bin/sh', '-c', 'echo hi'] };

test('a Job manifest takes Kubernetes defaults and the Workload template', (t) => {
  const result = validate(jobManifestSchema, { apiVersion: 'edgepilot.io/v1', kind: 'Job', metadata: { name: 'once' }, spec: { template } });
  t.true(result.ok);
  if (!result.ok) return;
  t.is(result.value.spec.completions, 1);
  t.is(result.value.spec.backoffLimit, 6);
  t.is(result.value.spec.placement, 'scheduled');
  t.is(result.value.spec.template.runtime, 'process');
});

test('a Job refuses an unknown placement and exit-code action, naming the field', (t) => {
  const bad = validate(jobManifestSchema, { apiVersion: 'edgepilot.io/v1', kind: 'Job', metadata: { name: 'x' }, spec: { template, placement: 'somewhere' } });
  t.false(bad.ok);
  t.regex(bad.ok ? '' : bad.error, /placement/);
  const rule = validate(jobManifestSchema, {
    apiVersion: 'edgepilot.io/v1',
    kind: 'Job',
    metadata: { name: 'x' },
    spec: { template, exitCodePolicy: [{ action: 'Explode', exitCodes: [3] }] },
  });
  t.false(rule.ok);
  t.regex(rule.ok ? '' : rule.error, /exitCodePolicy/);
});

test('a CronJob validates its schedule and zone and defaults missedRuns to Skip', (t) => {
  const ok = validate(cronJobManifestSchema, {
    apiVersion: 'edgepilot.io/v1',
    kind: 'CronJob',
    metadata: { name: 'tick' },
    spec: { schedule: '*/2 * * * * *', jobTemplate: { template } },
  });
  t.true(ok.ok);
  if (ok.ok) {
    t.is(ok.value.spec.timeZone, 'UTC');
    t.is(ok.value.spec.missedRuns, 'Skip');
    t.is(ok.value.spec.concurrencyPolicy, 'Allow');
  }
  const badZone = validate(cronJobManifestSchema, {
    apiVersion: 'edgepilot.io/v1',
    kind: 'CronJob',
    metadata: { name: 'tick' },
    spec: { schedule: '0 3 * * *', timeZone: 'Mars/Olympus', jobTemplate: { template } },
  });
  t.false(badZone.ok);
  t.regex(badZone.ok ? '' : badZone.error, /timeZone/);
  const badCron = validate(cronJobManifestSchema, {
    apiVersion: 'edgepilot.io/v1',
    kind: 'CronJob',
    metadata: { name: 'tick' },
    spec: { schedule: '61 * * * *', jobTemplate: { template } },
  });
  t.false(badCron.ok);
});

test('run records: a device publishes only its own, and subscribes only to its own acks', (t) => {
  const device = { kind: 'device', deviceId: 'dev-a' } as const;
  t.true(mayPublish(device, topics.runs('dev-a')));
  t.false(mayPublish(device, topics.runs('dev-b')));
  t.false(mayPublish(device, topics.runsAck('dev-a')));
  t.true(maySubscribe(device, topics.runsAck('dev-a')));
  t.false(maySubscribe(device, topics.runsAck('dev-b')));
  t.deepEqual(parseTopic(topics.runs('dev-a')), { kind: 'device', deviceId: 'dev-a', channel: 'runs' });
  t.deepEqual(parseTopic(topics.runsAck('dev-a')), { kind: 'runs-ack', deviceId: 'dev-a' });
});

test('a run record needs a reason and bounds its output', (t) => {
  const record = { id: 'cron:tick:1', owner: { kind: 'CronJob', name: 'tick' }, finishedAt: new Date(0).toISOString(), reason: 'completed', output: ['x'] };
  t.true(validate(jobRunsMessageSchema, { records: [record] }).ok);
  t.false(validate(jobRunsMessageSchema, { records: [{ ...record, reason: 'bored' }] }).ok);
  t.false(validate(jobRunsMessageSchema, { records: [{ ...record, output: Array.from({ length: 21 }, () => 'l') }] }).ok);
});
