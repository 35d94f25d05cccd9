// `edgepilot hub --settings <file>`: the file's settings become the hub's flags, a flag typed on
// the command line wins over the file, the file wins over defaults, and `--check` prints the result
// with passwords masked. Errors name the file, the line and the field.
import test from 'ava';
import { hubConfigFromFlags, type HubFlags } from '../../../src/hub/hub-command.js';
import { flagsFromSettingsFile, maskPassword, mergeFlags, settingsFileFromFlags } from '../../../src/hub/settings-file.js';
import { parseSettingsText, SettingsFileError } from '../../../src/common/yaml-settings-file.js';
import { hubSettingsFileSchema } from '../../../src/protocol/index.js';

const defaults: HubFlags = { listen: '0.0.0.0:7080', mqttListen: '0.0.0.0:1883', writeConfig: true, autoscaleInterval: '15' };
const parse = (text: string): ReturnType<typeof hubSettingsFileSchema.parse> => parseSettingsText(text, 'hub.yaml', hubSettingsFileSchema, 'hub settings file');

const clusterFile = `apiVersion: edgepilot.io/v1
kind: HubSettings
listen: 0.0.0.0:7443
secretKeyFile: /etc/edgepilot/secrets.key
tls: { cert: hub-a.pem, key: hub-a.key, ca: fleet-ca.pem, san: [hub-a.plant-3] }
limits: { joinRate: "5,50" }
cluster:
  hubId: hub-a
  store: postgres://edgepilot:s3cret@10.3.0.8/edgepilot
  redis: redis://10.3.0.9:6379
  advertiseApi: https://hub-a.plant-3:7443
`;

test('a settings file names the store, Redis and the hub itself under cluster; the hub starts as with the flags', (t) => {
  const fromFile = flagsFromSettingsFile(parse(clusterFile));
  const merged = mergeFlags(defaults, fromFile, (key) => (key in defaults ? 'default' : undefined));
  const config = hubConfigFromFlags(merged, {});
  const same = hubConfigFromFlags({ ...defaults, listen: '0.0.0.0:7443', secretKeyFile: '/etc/edgepilot/secrets.key', tlsCert: 'hub-a.pem', tlsKey: 'hub-a.key', tlsCa: 'fleet-ca.pem', tlsSan: ['hub-a.plant-3'], joinRate: '5,50', hubId: 'hub-a', store: 'postgres://edgepilot:s3cret@10.3.0.8/edgepilot', redis: 'redis://10.3.0.9:6379', advertiseApi: 'https://hub-a.plant-3:7443' }, {});
  t.deepEqual(config, same);
  t.is(config.hubId, 'hub-a');
  t.is(config.redisUrl, 'redis://10.3.0.9:6379');
  t.is(config.apiPort, 7443);
});

test('a flag typed on the command line replaces the file\'s value; the file replaces defaults', (t) => {
  const fromFile = flagsFromSettingsFile(parse(clusterFile));
  const typed: HubFlags = { ...defaults, hubId: 'hub-b', listen: '127.0.0.1:9000' };
  const sources: Record<string, string> = { hubId: 'cli', listen: 'cli', mqttListen: 'default', writeConfig: 'default', autoscaleInterval: 'default' };
  const merged = mergeFlags(typed, fromFile, (key) => sources[key]);
  t.is(merged.hubId, 'hub-b');
  t.is(merged.listen, '127.0.0.1:9000');
  t.is(merged.redis, 'redis://10.3.0.9:6379', 'what no flag gave comes from the file');
  t.is(merged.mqttListen, '0.0.0.0:1883', 'a default the file does not set stays');
});

test('--check prints the effective settings as a settings file, passwords masked, and it reads back the same', (t) => {
  const merged = mergeFlags(defaults, flagsFromSettingsFile(parse(clusterFile)), () => 'default');
  const printed = settingsFileFromFlags(merged);
  t.is(printed.cluster?.store, 'postgres://edgepilot:***@10.3.0.8/edgepilot');
  t.is(printed.kind, 'HubSettings');
  t.notThrows(() => hubSettingsFileSchema.parse(printed));
  const again = mergeFlags(defaults, flagsFromSettingsFile(printed), () => 'default');
  t.deepEqual({ ...again, store: merged.store }, merged, 'everything but the masked password reads back');
  t.is(maskPassword('redis://:pw@10.0.0.1:6379'), 'redis://:***@10.0.0.1:6379');
  t.is(maskPassword('not a url'), 'not a url');
});

test('a misspelt key, __proto__, constructor, a bad hub id, a huge value or a wrong kind: one line naming the file, line and field', (t) => {
  const error = (text: string): string => {
    const err = t.throws(() => parse(text), { instanceOf: SettingsFileError });
    return err?.message ?? '';
  };
  const head = 'apiVersion: edgepilot.io/v1\nkind: HubSettings\n';
  t.is(error(`${head}cluster:\n  hubid: a\n`), 'hub settings file hub.yaml:4: cluster.hubid: Unrecognized key: "hubid"');
  t.regex(error(`${head}__proto__: { insecure: true }\n`), /^hub settings file hub\.yaml:3: __proto__: /);
  t.regex(error(`${head}constructor: x\n`), /^hub settings file hub\.yaml:3: constructor: /);
  t.regex(error(`${head}cluster: { hubId: "Hüb_A" }\n`), /hub\.yaml:3: cluster\.hubId: a hub id is 1-63 lower-case letters/);
  t.regex(error(`${head}cluster: { store: "${'x'.repeat(5000)}" }\n`), /hub\.yaml:3: cluster\.store: /);
  t.regex(error('apiVersion: edgepilot.io/v1\nkind: Config\n'), /hub\.yaml:2: kind: /);
  t.regex(error(`${head}listen: [oops\n`), /hub\.yaml:\d+:\d+: YAML syntax error/);
  t.regex(error(''), /hub\.yaml:1: apiVersion: /);
});
