// The agent's side of ConfigMaps and Secrets: the planner's steps for a changed object, and the files
// and env an instance gets (written atomically, Secrets 0600, removed with the instance).
import test from 'ava';
import { generateKeyPairSync } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '../../../src/common/log.js';
import { plan } from '../../../src/device-agent/reconcile/planner.js';
import { reportInstances } from '../../../src/device-agent/reconcile/report.js';
import { kubernetesBackoff, type InstanceRecord, type PlanInput } from '../../../src/device-agent/reconcile/model.js';
import type { ObservedInstance } from '../../../src/device-agent/runtime/runtime.js';
import { ConfigFiles, configRoots } from '../../../src/device-agent/config-objects/config-files.js';
import { ConfigUnavailableError, ConfigValueSource } from '../../../src/device-agent/config-objects/config-values.js';
import { rawPublicKey, sealBox, templateManifestSchema, type DesiredConfig, type DesiredInstance } from '../../../src/protocol/index.js';
import { makeTempDir } from '../../support/paths.js';

const NOW = 1_000_000_000;
const log = createLogger('test', 'error');

function desired(template: Record<string, unknown>, configRevision?: string): DesiredInstance {
  return {
    id: 'web',
    workload: 'web',
    revision: 'aaaaaaaa',
    template: templateManifestSchema.parse({ runtime: 'process', command: ['sleep', '1'], ...template }),
    ...(configRevision ? { configRevision } : {}),
  };
}
const running: ObservedInstance = { id: 'web', workload: 'web', revision: 'aaaaaaaa', runtime: 'process', state: 'running', pid: 42 };
const records = (r: Partial<InstanceRecord>): Map<string, InstanceRecord> => new Map([['web', { id: 'web', workload: 'web', restarts: 0, crashStreak: 0, revision: 'aaaaaaaa', lastStartedAt: NOW - 1000, ...r }]]);
function input(over: Partial<PlanInput>): PlanInput {
  return { now: NOW, desired: [], observed: [running], records: new Map(), health: new Map(), runtimes: { container: true, process: true }, backoff: kubernetesBackoff, ...over };
}

test('a new configRevision restarts the running instance (a requested restart, not a crash)', (t) => {
  const d = desired({ envFrom: [{ configMap: 'app' }] }, '1111111111111111');
  t.deepEqual(plan(input({ desired: [d], records: records({ configRevision: '0000000000000000' }) })), [
    { kind: 'restart-for-config', id: 'web', revision: 'aaaaaaaa', workload: 'web', graceSeconds: 10 },
  ]);
  t.deepEqual(plan(input({ desired: [d], records: records({ configRevision: '1111111111111111' }) })), []);
  // Deleted at the hub (not here any more): it keeps running rather than restarting into a failed start.
  const gone = { wanted: new Map<string, string>(), written: new Map<string, string>(), unresolved: new Set(['web']) };
  t.deepEqual(plan(input({ desired: [d], records: records({ configRevision: '0000000000000000' }), configFiles: gone })), []);
});

test('the report says which configRevision the running instance started with, not the desired one', (t) => {
  const d = desired({ envFrom: [{ configMap: 'app' }] }, '1111111111111111');
  const report = (r: Map<string, InstanceRecord>, observed: ObservedInstance[]) =>
    reportInstances({ now: NOW, desired: [d], observed, records: r, health: new Map(), activity: new Map(), failures: new Map(), runtimes: { container: true, process: true } });
  // The new document is here, the restart not yet: the hub must not count this one as moved.
  t.is(report(records({ configRevision: '0000000000000000' }), [running])[0]?.configRevision, '0000000000000000');
  t.is(report(records({ configRevision: '1111111111111111' }), [running])[0]?.configRevision, '1111111111111111');
  // Nothing running: nothing started with any version.
  t.is(report(records({ configRevision: '1111111111111111' }), [])[0]?.configRevision, undefined);
});

test('changed files of an onChange: none or signal mount are rewritten in place, with the signals', (t) => {
  const d = desired({
    volumes: [
      { name: 'a', mountPath: '/a', configMap: 'app', onChange: 'none' },
      { name: 'b', mountPath: '/b', secret: 'db', onChange: 'signal:HUP' },
    ],
  });
  const files = { wanted: new Map([['web', 'new']]), written: new Map([['web', 'old']]) };
  t.deepEqual(plan(input({ desired: [d], records: records({}), configFiles: files })), [{ kind: 'update-config-files', instance: d, signals: ['SIGHUP'] }]);
  t.deepEqual(plan(input({ desired: [d], records: records({}), configFiles: { wanted: files.wanted, written: files.wanted } })), []);
});

function source(configs: DesiredConfig[], key = generateKeyPairSync('x25519').privateKey): ConfigValueSource {
  return new ConfigValueSource(key, () => configs);
}

test('files and env: written before start, updated atomically in place, Secrets 0600 and kept off records', async (t) => {
  const tmp = await makeTempDir('ep-config-files-');
  t.teardown(() => tmp.remove());
  const roots = { configDir: join(tmp.path, 'configs'), secretDir: join(tmp.path, 'shm', 'secrets'), secretsOnTmpfs: true };
  const deviceKey = generateKeyPairSync('x25519').privateKey;
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  let configs: DesiredConfig[] = [
    { kind: 'ConfigMap', name: 'app', version: '0000000000000001', values: { 'app.conf': b64('mode=one'), MODE: b64('one') } },
    { kind: 'Secret', name: 'db', version: '0000000000000001', sealed: sealBox(Buffer.from(JSON.stringify({ password: b64('hunter2') })), rawPublicKey(deviceKey), 'Secret/db/0000000000000001') },
  ];
  const values = new ConfigValueSource(deviceKey, () => configs);
  const files = new ConfigFiles(roots, (kind, name) => values.get(kind, name), log);
  const d = desired({
    envFrom: [{ configMap: 'app', prefix: 'APP_' }],
    valueFrom: { DB_PASSWORD: { secret: 'db', key: 'password' } },
    volumes: [
      { name: 'conf', mountPath: '/etc/app', configMap: 'app', items: [{ key: 'app.conf', path: 'main.conf' }], onChange: 'none' },
      { name: 'creds', mountPath: '/run/creds', secret: 'db' },
    ],
  });
  const decorated = await files.decorate(d);
  t.like(decorated.template.env, { APP_MODE: 'one', 'APP_app.conf': undefined, DB_PASSWORD: 'hunter2' });
  t.deepEqual([...files.privateEnv('web')], ['DB_PASSWORD']);
  const conf = join(roots.configDir, 'web', 'conf', 'main.conf');
  const creds = join(roots.secretDir, 'web', 'creds', 'password');
  t.deepEqual(decorated.template.volumes.map((v) => v.hostPath), [join(roots.configDir, 'web', 'conf'), join(roots.secretDir, 'web', 'creds')]);
  t.true(decorated.template.volumes.every((v) => v.readOnly));
  t.is(await readFile(conf, 'utf8'), 'mode=one');
  t.is(await readFile(creds, 'utf8'), 'hunter2');
  t.is((await stat(creds)).mode & 0o777, 0o600);
  t.is((await stat(conf)).mode & 0o777, 0o644);
  t.is(files.wanted([d]).wanted.get('web'), files.written.get('web'));

  // A new version: the wanted hash moves; update rewrites by rename (a new inode), reports a change once.
  const inode = (await stat(conf)).ino;
  configs = [{ ...configs[0], version: '0000000000000002', values: { 'app.conf': b64('mode=two'), MODE: b64('two') } } as DesiredConfig, configs[1] as DesiredConfig];
  t.not(files.wanted([d]).wanted.get('web'), files.written.get('web'));
  t.deepEqual([...files.wanted([d, { ...d, id: 'other', template: { ...d.template, envFrom: [{ configMap: 'absent' }] } }]).unresolved], ['other']);
  t.true(await files.update(d));
  t.is(await readFile(conf, 'utf8'), 'mode=two');
  t.not((await stat(conf)).ino, inode);
  t.false(await files.update(d), 'nothing changed the second time');

  await files.remove('web');
  await t.throwsAsync(stat(creds));
  await t.throwsAsync(stat(conf));
});

test('an object not delivered, or sealed to another device, fails with a typed error', (t) => {
  const mine = generateKeyPairSync('x25519').privateKey;
  const other = generateKeyPairSync('x25519').privateKey;
  const sealed = sealBox(Buffer.from('{}'), rawPublicKey(other), 'Secret/db/0000000000000001');
  const values = source([{ kind: 'Secret', name: 'db', version: '0000000000000001', sealed }], mine);
  t.is(t.throws(() => values.get('Secret', 'db'), { instanceOf: ConfigUnavailableError })?.code, 'cannot-open');
  t.is(t.throws(() => values.get('ConfigMap', 'app'), { instanceOf: ConfigUnavailableError })?.code, 'not-delivered');
});

test('Secrets go to a tmpfs when /proc/mounts lists one, else under the state folder', async (t) => {
  const tmp = await makeTempDir('ep-config-roots-');
  t.teardown(() => tmp.remove());
  const none = await configRoots(tmp.path, 'proc /proc proc rw 0 0\n');
  t.false(none.secretsOnTmpfs);
  t.is(none.secretDir, join(tmp.path, 'secrets'));
});
