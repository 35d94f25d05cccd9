// `edgepilot hub --settings <file>`: the HubSettings file (src/protocol) turned into the hub's flags,
// and back (for `--check`). Pure: the command reads the file and knows which flags were typed.
import type { HubSettingsFile } from '../protocol/index.js';
import type { HubFlags } from './hub-command.js';

/** The flags a HubSettings file sets, by the flag's option key. */
export type FileFlags = Partial<Omit<HubFlags, 'settings' | 'check'>>;

export function flagsFromSettingsFile(file: HubSettingsFile): FileFlags {
  const flags: FileFlags = {};
  const set = <K extends keyof FileFlags>(key: K, value: FileFlags[K] | undefined): void => {
    if (value !== undefined) flags[key] = value;
  };
  set('dataDir', file.dataDir);
  set('listen', file.listen);
  set('mqttListen', file.mqttListen);
  set('logLevel', file.logLevel);
  set('insecure', file.insecure);
  set('secretKeyFile', file.secretKeyFile);
  set('firmwareKey', file.firmwareKeys);
  set('autoscaleInterval', file.autoscaleIntervalSeconds === undefined ? undefined : String(file.autoscaleIntervalSeconds));
  set('writeConfig', file.writeCliConfig);
  set('joinRate', file.limits?.joinRate);
  set('authFailureRate', file.limits?.authFailureRate);
  set('deviceMessageRate', file.limits?.deviceMessageRate);
  set('broker', file.broker?.url);
  set('brokerDynsec', file.broker?.dynsec);
  set('advertiseBroker', file.broker?.advertise);
  set('tlsCert', file.tls?.cert);
  set('tlsKey', file.tls?.key);
  set('tlsCa', file.tls?.ca);
  set('tlsSan', file.tls?.san);
  set('hubId', file.cluster?.hubId);
  set('store', file.cluster?.store);
  set('redis', file.cluster?.redis);
  set('advertiseApi', file.cluster?.advertiseApi);
  return flags;
}

/** Where a flag's value came from, as commander says (`cli`, `env`, `default`, or none). */
export type FlagSource = (key: string) => string | undefined;

/** A flag typed on the command line replaces the file's value; the file replaces defaults. */
export function mergeFlags(typed: HubFlags, fromFile: FileFlags, sourceOf: FlagSource): HubFlags {
  const merged: Record<string, unknown> = { ...typed };
  for (const [key, value] of Object.entries(fromFile)) {
    if (sourceOf(key) !== 'cli') merged[key] = value;
  }
  return merged as unknown as HubFlags;
}

/** A URL's password as `***` (printed settings go to terminals and tickets). */
export function maskPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** The effective settings as a HubSettings document, passwords masked: what `--check` prints. */
export function settingsFileFromFlags(flags: HubFlags): HubSettingsFile {
  const pick = <T extends object>(o: T): T | undefined => (Object.values(o).some((v) => v !== undefined) ? (JSON.parse(JSON.stringify(o)) as T) : undefined);
  const doc: HubSettingsFile = {
    apiVersion: 'edgepilot.io/v1',
    kind: 'HubSettings',
    ...(flags.dataDir !== undefined ? { dataDir: flags.dataDir } : {}),
    listen: flags.listen,
    mqttListen: flags.mqttListen,
    ...(flags.logLevel === 'debug' || flags.logLevel === 'info' || flags.logLevel === 'warn' || flags.logLevel === 'error' ? { logLevel: flags.logLevel } : {}),
    ...(flags.insecure ? { insecure: true } : {}),
    ...(flags.secretKeyFile !== undefined ? { secretKeyFile: flags.secretKeyFile } : {}),
    ...(flags.firmwareKey?.length ? { firmwareKeys: flags.firmwareKey } : {}),
    autoscaleIntervalSeconds: Number(flags.autoscaleInterval),
    writeCliConfig: flags.writeConfig,
  };
  const limits = pick({ joinRate: flags.joinRate, authFailureRate: flags.authFailureRate, deviceMessageRate: flags.deviceMessageRate });
  if (limits) doc.limits = limits;
  if (flags.broker !== undefined) doc.broker = { url: maskPassword(flags.broker), ...(flags.brokerDynsec ? { dynsec: true } : {}), ...(flags.advertiseBroker !== undefined ? { advertise: flags.advertiseBroker } : {}) };
  const tls = pick({ cert: flags.tlsCert, key: flags.tlsKey, ca: flags.tlsCa, san: flags.tlsSan?.length ? flags.tlsSan : undefined });
  if (tls) doc.tls = tls;
  const cluster = pick({ hubId: flags.hubId, store: flags.store === undefined ? undefined : maskPassword(flags.store), redis: flags.redis === undefined ? undefined : maskPassword(flags.redis), advertiseApi: flags.advertiseApi });
  if (cluster) doc.cluster = cluster;
  return doc;
}
