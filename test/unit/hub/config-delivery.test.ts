// Need to know and restart-on-change, decided purely: which device gets which ConfigMap and Secret,
// Secrets sealed to that device's key only, and which instances restart when an object changes.
import test from 'ava';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { openSealedBox, rawPublicKey, templateSchema, type ConfigMapManifest, type DesiredInstance, type SecretManifest } from '../../../src/protocol/index.js';
import { deliverConfigs, secretBoxContext } from '../../../src/hub/config-objects/config-delivery.js';
import { configRecordFor, type ConfigObjectRecord } from '../../../src/hub/config-objects/config-records.js';
import { decryptAtRest } from '../../../src/hub/config-objects/data-key.js';

const dataKey = randomBytes(32);
const now = '2026-11-30T12:00:00Z';
const meta = (name: string) => ({ name, labels: {}, annotations: {} });

function configMap(name: string, data: Record<string, string>): ConfigObjectRecord {
  const m: ConfigMapManifest = { apiVersion: 'edgepilot.io/v1', kind: 'ConfigMap', metadata: meta(name), data, binaryData: {}, immutable: false };
  return configRecordFor(m, undefined, now, dataKey).record;
}
function secret(name: string, data: Record<string, string>): ConfigObjectRecord {
  const m: SecretManifest = { apiVersion: 'edgepilot.io/v1', kind: 'Secret', metadata: meta(name), data, binaryData: {}, immutable: false };
  return configRecordFor(m, undefined, now, dataKey).record;
}
function instance(id: string, template: Record<string, unknown>): DesiredInstance {
  return { id, workload: id, revision: 'aaaaaaaa', template: templateSchema.parse({ runtime: 'process', command: ['sleep', '1'], ...template }) };
}

const keyA = generateKeyPairSync('x25519').privateKey;
const keyB = generateKeyPairSync('x25519').privateKey;

function run(objects: ConfigObjectRecord[], devices: Record<string, DesiredInstance[]>, keys: Record<string, Buffer> = { a: rawPublicKey(keyA), b: rawPublicKey(keyB) }) {
  return deliverConfigs({
    devices: new Map(Object.entries(devices).map(([id, instances]) => [id, { instances, jobTemplates: [] }])),
    lookup: (kind, name) => objects.find((o) => o.kind === kind && o.name === name),
    boxKey: (id) => keys[id],
    secretPlaintext: (r) => decryptAtRest(dataKey, r.name, r.encrypted ?? { iv: '', ct: '' }),
    dataKey,
  });
}

test('the store record of a Secret holds ciphertext only; a ConfigMap keeps its values', (t) => {
  const s = secret('db', { password: 'hunter2-very-secret' });
  t.is(s.values, undefined);
  t.false(JSON.stringify(s).includes('hunter2'));
  t.false(JSON.stringify(s).includes(Buffer.from('hunter2-very-secret').toString('base64')));
  t.deepEqual(configMap('app', { a: 'b' }).values, { a: Buffer.from('b').toString('base64') });
});

test('each device gets only what its own instances reference; a Secret is sealed to that device', (t) => {
  const objects = [configMap('app', { 'app.conf': 'x=1' }), secret('db', { password: 'hunter2' }), configMap('unused', { a: 'b' })];
  const result = run(objects, {
    a: [instance('web', { volumes: [{ name: 'conf', mountPath: '/etc/app', configMap: 'app' }], valueFrom: { DB_PASSWORD: { secret: 'db', key: 'password' } } })],
    b: [instance('other', { envFrom: [{ configMap: 'app' }] })],
    c: [instance('plain', {})],
  });
  t.deepEqual(result.configs.get('a')?.map((c) => `${c.kind}/${c.name}`), ['ConfigMap/app', 'Secret/db']);
  t.deepEqual(result.configs.get('b')?.map((c) => `${c.kind}/${c.name}`), ['ConfigMap/app']);
  t.false(result.configs.has('c'));
  const sealed = result.configs.get('a')?.find((c) => c.kind === 'Secret');
  if (sealed?.kind !== 'Secret') return t.fail('no sealed secret');
  t.false(JSON.stringify([...result.configs.values()]).includes('hunter2'));
  t.deepEqual(JSON.parse(openSealedBox(sealed.sealed, keyA, secretBoxContext('db', sealed.version)).toString()), { password: Buffer.from('hunter2').toString('base64') });
  t.throws(() => openSealedBox(sealed.sealed, keyB, secretBoxContext('db', sealed.version)));
  t.deepEqual(result.problems, []);
});

test('env and onChange: restart mounts set a configRevision that moves with the content; onChange: none does not', (t) => {
  const devices = {
    a: [
      instance('env', { envFrom: [{ configMap: 'app' }] }),
      instance('restart', { volumes: [{ name: 'c', mountPath: '/c', configMap: 'app' }] }),
      instance('none', { volumes: [{ name: 'c', mountPath: '/c', configMap: 'app', onChange: 'none' }] }),
      instance('signal', { volumes: [{ name: 'c', mountPath: '/c', configMap: 'app', onChange: 'signal:HUP' }] }),
    ],
  };
  const before = run([configMap('app', { k: 'v1' })], devices).instances.get('a') ?? [];
  const after = run([configMap('app', { k: 'v2' })], devices).instances.get('a') ?? [];
  const rev = (list: DesiredInstance[], id: string) => list.find((i) => i.id === id)?.configRevision;
  t.truthy(rev(before, 'env'));
  t.not(rev(before, 'env'), rev(after, 'env'));
  t.not(rev(before, 'restart'), rev(after, 'restart'));
  t.is(rev(before, 'none'), undefined);
  t.is(rev(after, 'none'), undefined);
  t.is(rev(after, 'signal'), undefined);
});

test('unchanged objects give byte-identical documents (no republish per pass)', (t) => {
  const objects = [secret('db', { password: 'p' })];
  const devices = { a: [instance('web', { valueFrom: { P: { secret: 'db', key: 'password' } } })] };
  t.is(JSON.stringify([...run(objects, devices).configs]), JSON.stringify([...run(objects, devices).configs]));
});

test('a missing object and a device without a box key are problems, and no Secret is sent in clear instead', (t) => {
  const result = run([secret('db', { password: 'p' })], { a: [instance('web', { envFrom: [{ secret: 'db' }, { configMap: 'nope' }] })] }, {});
  t.false(result.configs.has('a'));
  t.deepEqual(result.problems.map((p) => p.reason).sort(), ['ConfigMissing', 'SecretUndeliverable']);
  t.regex(result.problems.find((p) => p.reason === 'SecretUndeliverable')?.message ?? '', /reports no box key \(upgrade the agent/);
});

test('an immutable object refuses a content change but takes the same content again', (t) => {
  const m: ConfigMapManifest = { apiVersion: 'edgepilot.io/v1', kind: 'ConfigMap', metadata: meta('frozen'), data: { a: '1' }, binaryData: {}, immutable: true };
  const first = configRecordFor(m, undefined, now, dataKey).record;
  t.is(configRecordFor(m, first, now, dataKey).action, 'unchanged');
  const error = t.throws(() => configRecordFor({ ...m, data: { a: '2' } }, first, now, dataKey));
  t.regex(error.message, /configmap frozen is immutable/);
});
