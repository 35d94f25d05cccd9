// ConfigMap and Secret manifests and the template fields that reference them: errors name the field.
import test from 'ava';
import { CONFIG_OBJECT_MAX_BYTES, configMapManifestSchema, listProblems, formatPath, secretManifestSchema, templateManifestSchema } from '../../../src/protocol/index.js';

const base = { apiVersion: 'edgepilot.io/v1', metadata: { name: 'app' } };

function problems(result: { success: boolean; error?: { issues: unknown[] } }): string[] {
  if (result.success) return [];
  return listProblems((result.error?.issues ?? []) as Parameters<typeof listProblems>[0]).map((p) => `${formatPath(p.path)}: ${p.message}`);
}

test('a ConfigMap takes text and base64 data; a Secret has the same shape', (t) => {
  const cm = configMapManifestSchema.parse({ ...base, kind: 'ConfigMap', data: { 'app.conf': 'level=debug\n' }, binaryData: { 'logo.bin': Buffer.from([0, 1, 2]).toString('base64') } });
  t.is(cm.immutable, false);
  t.true(secretManifestSchema.safeParse({ ...base, kind: 'Secret', data: { password: 'hunter2' }, immutable: true }).success);
});

test('keys must be file names, appear once, and the content must fit the limit', (t) => {
  t.regex(problems(configMapManifestSchema.safeParse({ ...base, kind: 'ConfigMap', data: { '../etc/passwd': 'x' } })).join(), /a key is letters, digits/);
  t.regex(problems(configMapManifestSchema.safeParse({ ...base, kind: 'ConfigMap', data: { '..': 'x' } })).join(), /a key is letters/);
  t.regex(problems(configMapManifestSchema.safeParse({ ...base, kind: 'ConfigMap', data: { a: 'x' }, binaryData: { a: 'eA==' } })).join(), /binaryData\.a: key a is also in data/);
  t.regex(problems(secretManifestSchema.safeParse({ ...base, kind: 'Secret', binaryData: { a: 'not base64!' } })).join(), /binaryData\.a: must be base64/);
  const big = 'x'.repeat(CONFIG_OBJECT_MAX_BYTES + 1);
  t.regex(problems(configMapManifestSchema.safeParse({ ...base, kind: 'ConfigMap', data: { big } })).join(), new RegExp(`data: content is ${CONFIG_OBJECT_MAX_BYTES + 1} bytes, over the ${CONFIG_OBJECT_MAX_BYTES}-byte limit of a ConfigMap`));
  t.true(configMapManifestSchema.safeParse({ ...base, kind: 'ConfigMap', data: { big: big.slice(1) } }).success);
});

test('a volume takes at most one source; items, mode and onChange only with a ConfigMap or Secret', (t) => {
  const template = (volumes: unknown[], extra: Record<string, unknown> = {}) => templateManifestSchema.safeParse({ runtime: 'process', command: ['true'], volumes, ...extra });
  t.true(template([{ name: 'conf', mountPath: '/etc/app', configMap: 'app', items: [{ key: 'app.conf', path: 'main.conf' }], mode: 0o640, onChange: 'signal:HUP' }]).success);
  t.regex(problems(template([{ name: 'c', mountPath: '/x', configMap: 'app', secret: 'db' }])).join(), /volumes\.0\.configMap: a volume has at most one of hostPath, configMap, secret/);
  t.regex(problems(template([{ name: 'c', mountPath: '/x', onChange: 'none' }])).join(), /volumes\.0\.onChange: onChange needs configMap or secret/);
  t.regex(problems(template([{ name: 'c', mountPath: '/x', secret: 'db', onChange: 'reload' }])).join(), /onChange must be restart, none or signal:<NAME>/);
  t.regex(problems(template([{ name: 'c', mountPath: '/x', secret: 'db', items: [{ key: 'a', path: 'sub/a' }] }])).join(), /a file name without \//);
  t.regex(problems(template([], { envFrom: [{ configMap: 'a', secret: 'b' }] })).join(), /envFrom\.0: envFrom needs exactly one of configMap, secret/);
  t.regex(problems(template([], { valueFrom: { DB_PASSWORD: { key: 'password' } } })).join(), /valueFrom\.DB_PASSWORD: valueFrom needs exactly one of configMap, secret/);
  t.true(template([], { envFrom: [{ configMap: 'app', prefix: 'APP_' }], valueFrom: { DB_PASSWORD: { secret: 'db', key: 'password' } } }).success);
});

test('templates without the new fields parse to the same object as before (their revisions do not move)', (t) => {
  const parsed = templateManifestSchema.parse({ runtime: 'process', command: ['true'] });
  t.false('envFrom' in parsed);
  t.false('valueFrom' in parsed);
});
