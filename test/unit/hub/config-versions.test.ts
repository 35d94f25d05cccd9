// Issue 14: each ConfigMap/Secret keeps its earlier versions (bounded; a version a release pins is
// never dropped), and a device whose release pins a version reads that one, others the newest.
import test from 'ava';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createLogger } from '../../../src/common/log.js';
import { ConfigObjects } from '../../../src/hub/config-objects/config-objects.js';
import { pinnedConfigVersions, unknownConfigPins } from '../../../src/hub/config-objects/config-apply.js';
import { configRecordFor, versionOf, type ConfigObjectRecord } from '../../../src/hub/config-objects/config-records.js';
import { releaseKey, releaseSpecManifestSchema, CONFIG_HISTORY_LIMIT, rawPublicKey, openSealedBox, templateSchema, type ConfigMapManifest, type DesiredInstance, type ReleaseRecord, type SecretManifest } from '../../../src/protocol/index.js';
import { releaseConfigPins } from '../../../src/hub/rollouts/release-pins.js';
import { MemoryStore } from '../../support/memory-store.js';

const dataKey = randomBytes(32);
const at = (i: number): string => new Date(Date.UTC(2026, 10, 30, 12, 0, i)).toISOString();

function manifest(kind: 'ConfigMap' | 'Secret', name: string, data: Record<string, string>): ConfigMapManifest | SecretManifest {
  return { apiVersion: 'edgepilot.io/v1', kind, metadata: { name, labels: {}, annotations: {} }, data, binaryData: {}, immutable: false } as ConfigMapManifest | SecretManifest;
}

/** Applies `contents` one after another; returns the record and each content's version. */
function applied(kind: 'ConfigMap' | 'Secret', contents: string[], pinned: (versions: string[]) => Set<string> = () => new Set()): { record: ConfigObjectRecord; versions: string[] } {
  let record: ConfigObjectRecord | undefined;
  const versions: string[] = [];
  contents.forEach((c, i) => {
    record = configRecordFor(manifest(kind, 'settings', { level: c }), record, at(i), dataKey, pinned(versions)).record;
    versions.push(record.version);
  });
  if (!record) throw new Error('nothing applied');
  return { record, versions };
}

test('a change keeps the earlier versions newest first, the last CONFIG_HISTORY_LIMIT of them', (t) => {
  const contents = Array.from({ length: CONFIG_HISTORY_LIMIT + 5 }, (_, i) => `v${i}`);
  const { record, versions } = applied('ConfigMap', contents);
  t.is(record.version, versions.at(-1) ?? '');
  t.deepEqual(
    record.history?.map((h) => h.version),
    versions.slice(0, -1).reverse().slice(0, CONFIG_HISTORY_LIMIT),
  );
  t.is(versionOf(record, versions[0] ?? '')?.version, undefined, 'the oldest is gone');
  t.deepEqual(versionOf(record, versions.at(-2) ?? '')?.values, { level: Buffer.from(contents.at(-2) ?? '').toString('base64') });
});

test('a version a release pins is never dropped, however many changes follow', (t) => {
  const contents = Array.from({ length: CONFIG_HISTORY_LIMIT + 5 }, (_, i) => `v${i}`);
  // The first version is pinned from the moment it exists.
  const { record, versions } = applied('ConfigMap', contents, (vs) => new Set(vs.slice(0, 1)));
  t.is(record.history?.length, CONFIG_HISTORY_LIMIT + 1);
  t.deepEqual(versionOf(record, versions[0] ?? '')?.values, { level: Buffer.from('v0').toString('base64') });
});

test('going back to an earlier content makes it the newest again, not a duplicate in the history', (t) => {
  const { record, versions } = applied('ConfigMap', ['a', 'b', 'a']);
  t.is(record.version, versions[0] ?? '');
  t.deepEqual(record.history?.map((h) => h.version), [versions[1]]);
});

test('a Secret keeps its earlier versions as ciphertext only', (t) => {
  const { record } = applied('Secret', ['hunter2-first', 'hunter2-second']);
  t.false(JSON.stringify(record).includes(Buffer.from('hunter2-first').toString('base64')));
  t.truthy(record.history?.[0]?.encrypted);
  t.is(record.history?.[0]?.values, undefined);
});

function release(name: string, version: string, configs: unknown): ReleaseRecord {
  const spec = releaseSpecManifestSchema.parse({ version, workloads: { web: { runtime: 'process', command: ['sleep', '1'] } }, configs });
  return { name, labels: {}, annotations: {}, spec, digest: `sha256:${'0'.repeat(64)}`, createdAt: at(0) } as unknown as ReleaseRecord;
}

test('a release pins configs by kind, name and version; a malformed or doubled pin is refused by the schema', (t) => {
  const base = { version: '1.0.0', workloads: { web: { runtime: 'process', command: ['sleep', '1'] } } };
  t.true(releaseSpecManifestSchema.safeParse({ ...base, configs: [{ kind: 'ConfigMap', name: 'settings', version: 'a'.repeat(16) }] }).success);
  t.false(releaseSpecManifestSchema.safeParse({ ...base, configs: [{ kind: 'ConfigMap', name: 'settings', version: 'latest' }] }).success);
  t.false(releaseSpecManifestSchema.safeParse({ ...base, configs: [{ kind: 'Workload', name: 'settings', version: 'a'.repeat(16) }] }).success);
  const twice = releaseSpecManifestSchema.safeParse({ ...base, configs: [0, 1].map(() => ({ kind: 'Secret', name: 'db', version: 'a'.repeat(16) })) });
  t.false(twice.success);
  t.regex(JSON.stringify(twice.error?.issues), /pinned twice/);
  // Without pins, a release's spec has no configs key at all: digests of earlier releases stay.
  t.false('configs' in releaseSpecManifestSchema.parse(base));
});

test('a pin of a version the hub does not keep is named; pins of kept versions are collected per object', (t) => {
  const { record, versions } = applied('ConfigMap', ['a', 'b']);
  const good = release('app', '1.0.0', [{ kind: 'ConfigMap', name: 'settings', version: versions[0] }]);
  const bad = release('app', '1.0.1', [{ kind: 'ConfigMap', name: 'settings', version: 'f'.repeat(16) }]);
  t.deepEqual(unknownConfigPins([good], [record], []), []);
  const problems = unknownConfigPins([bad], [record], []);
  t.is(problems.length, 1);
  t.regex(problems[0] ?? '', /release app@1\.0\.1: spec\.configs pins configmap settings version f{16}/);
  t.deepEqual([...(pinnedConfigVersions([good, bad]).get('ConfigMap/settings') ?? [])], [versions[0], 'f'.repeat(16)]);
});

function instance(id: string): DesiredInstance {
  return {
    id,
    workload: 'web',
    revision: 'aaaaaaaa',
    template: templateSchema.parse({ runtime: 'process', command: ['sleep', '1'], envFrom: [{ configMap: 'settings' }, { secret: 'settings' }] }),
  };
}

test('a device pinned to a release reads the pinned versions; the others read the newest', async (t) => {
  const memory = new MemoryStore();
  const map = applied('ConfigMap', ['old', 'new']);
  const secret = applied('Secret', ['old-secret', 'new-secret']);
  memory.configObjects.set('ConfigMap/settings', map.record);
  memory.configObjects.set('Secret/settings', secret.record);
  const store = memory.hubStore();
  const objects = new ConfigObjects(store.configObjects, dataKey, store.events, () => new Date(at(0)), createLogger('test', 'error', () => undefined));
  const keys = { pinned: generateKeyPairSync('x25519').privateKey, other: generateKeyPairSync('x25519').privateKey };
  const devices = (['pinned', 'other'] as const).map((id) => ({ id, hardwareId: id, hostname: id, labels: {}, taints: [], unschedulable: false, credentialHash: 'x', registeredAt: at(0), joinedWithToken: 't', facts: { boxKey: rawPublicKey(keys[id]).toString('base64') } }));
  const rel = release('app', '1.0.0', [
    { kind: 'ConfigMap', name: 'settings', version: map.versions[0] },
    { kind: 'Secret', name: 'settings', version: secret.versions[0] },
  ]);
  const pins = releaseConfigPins(new Map([['pinned', { release: { name: 'app', version: '1.0.0' }, rollout: 'r', since: at(0) }]]), new Map([[releaseKey('app', '1.0.0'), rel]]));
  const wanted = new Map([
    ['pinned', [instance('web-0')]],
    ['other', [instance('web-1')]],
  ]);
  const configs = await objects.attach(wanted, devices as never, undefined, pins);
  const content = (id: 'pinned' | 'other') => {
    const list = configs.get(id) ?? [];
    const cm = list.find((c) => c.kind === 'ConfigMap');
    const sec = list.find((c) => c.kind === 'Secret');
    const opened = sec?.kind === 'Secret' ? (JSON.parse(openSealedBox(sec.sealed, keys[id], `Secret/settings/${sec.version}`).toString()) as Record<string, string>) : {};
    return { map: cm?.kind === 'ConfigMap' ? Buffer.from(cm.values['level'] ?? '', 'base64').toString() : undefined, secret: Buffer.from(opened['level'] ?? '', 'base64').toString() };
  };
  t.deepEqual(content('pinned'), { map: 'old', secret: 'old-secret' });
  t.deepEqual(content('other'), { map: 'new', secret: 'new-secret' });
  // The instances read different versions at start, so their config revisions differ.
  t.not(wanted.get('pinned')?.[0]?.configRevision, wanted.get('other')?.[0]?.configRevision);
});

test('a Job that reads a missing ConfigMap gets the ConfigMissing event in its own history, not a workload\'s', async (t) => {
  const memory = new MemoryStore();
  const store = memory.hubStore();
  const objects = new ConfigObjects(store.configObjects, dataKey, store.events, () => new Date(at(0)), createLogger('test', 'error', () => undefined));
  const template = templateSchema.parse({ runtime: 'process', command: ['true'], envFrom: [{ configMap: 'absent' }] });
  const job = { name: 'once', uid: 'abcdef12', spec: { template } } as never;
  await objects.attach(new Map(), [], new Map([['d1', { jobs: [job], cronJobs: [] }]]));
  t.deepEqual([...memory.events.keys()], ['job/once']);
  t.is(memory.events.get('job/once')?.[0]?.reason, 'ConfigMissing');
});
