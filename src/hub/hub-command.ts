import { Command } from 'commander';
import { defaultCliConfigPath } from '../common/paths.js';
import { parseLogLevel } from '../common/log.js';
import { defaultHubConfig, parseListen, type HubConfig } from './config.js';
import { defaultHubLimits, parseDeviceMessageRate, parseFailedAuthRate, parseJoinRate } from './limits/hub-limits.js';
import { parseStoreUrl } from './store/open-store.js';
import { parseRedisUrl } from './broker/redis-url.js';
import { stringify } from 'yaml';
import { HUB_ID_PATTERN, hubSettingsFileSchema, type HubSettingsFile } from '../protocol/index.js';
import { readSettingsFile } from '../common/yaml-settings-file.js';
import { settingsFileFromFlags, flagsFromSettingsFile, mergeFlags } from './settings-file.js';

/** Errors in the file are one line naming the file, the line and the field (SettingsFileError). */
function readHubSettingsFile(path: string): Promise<HubSettingsFile> {
  return readSettingsFile(path, hubSettingsFileSchema, 'hub settings file');
}

export interface HubFlags {
  dataDir?: string;
  store?: string;
  listen: string;
  mqttListen: string;
  broker?: string;
  advertiseBroker?: string;
  writeConfig: boolean;
  autoscaleInterval: string;
  logLevel?: string;
  firmwareKey?: string[];
  joinRate?: string;
  authFailureRate?: string;
  deviceMessageRate?: string;
  secretKeyFile?: string;
  insecure?: boolean;
  brokerDynsec?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsSan?: string[];
  redis?: string;
  hubId?: string;
  advertiseApi?: string;
  settings?: string;
  check?: boolean;
}

/** --tls-cert, --tls-key and --tls-ca go together: a server certificate alone gives agents nothing to pin. */
function tlsFilesFromFlags(flags: HubFlags): HubConfig['tlsFiles'] {
  const given = [flags.tlsCert, flags.tlsKey, flags.tlsCa];
  if (given.every((v) => v === undefined)) return undefined;
  if (flags.insecure) throw new Error('--insecure turns TLS off: it cannot go with --tls-cert/--tls-key/--tls-ca');
  if (!flags.tlsCert || !flags.tlsKey || !flags.tlsCa) throw new Error('--tls-cert, --tls-key and --tls-ca must be given together');
  return { cert: flags.tlsCert, key: flags.tlsKey, ca: flags.tlsCa };
}

function positiveSeconds(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number of seconds, not "${value}"`);
  return n;
}

export function hubConfigFromFlags(flags: HubFlags, env: NodeJS.ProcessEnv = process.env): HubConfig {
  const base = defaultHubConfig(env);
  const api = parseListen(flags.listen, base.apiHost);
  const mqttAddress = parseListen(flags.mqttListen, base.mqttHost);
  const tlsFiles = tlsFilesFromFlags(flags);
  if (flags.brokerDynsec && !flags.broker) throw new Error('--broker-dynsec needs --broker <mqtt://admin:password@host:port>');
  if (flags.redis && flags.broker) throw new Error('--redis joins the embedded brokers of several hubs: it cannot go with --broker');
  if (flags.redis) parseRedisUrl(flags.redis);
  if (flags.hubId !== undefined && !HUB_ID_PATTERN.test(flags.hubId)) throw new Error(`--hub-id "${flags.hubId}": use 1-63 lower-case letters, digits and dashes`);
  if (flags.advertiseApi !== undefined && !/^https?:\/\/[^/]+$/.test(flags.advertiseApi)) throw new Error(`--advertise-api "${flags.advertiseApi}": expected http(s)://host:port`);
  return {
    ...base,
    ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
    ...(flags.store !== undefined ? { store: parseStoreUrl(flags.store) } : {}),
    apiHost: api.host,
    apiPort: api.port,
    mqttHost: mqttAddress.host,
    mqttPort: mqttAddress.port,
    ...(flags.broker ? { externalBroker: flags.broker } : {}),
    ...(flags.brokerDynsec ? { brokerDynsec: true } : {}),
    ...(flags.advertiseBroker ? { advertiseBroker: flags.advertiseBroker } : {}),
    ...(flags.redis ? { redisUrl: flags.redis } : {}),
    ...(flags.hubId ? { hubId: flags.hubId } : {}),
    ...(flags.advertiseApi ? { advertiseApi: flags.advertiseApi } : {}),
    ...(flags.writeConfig ? { cliConfigPath: defaultCliConfigPath(env) } : {}),
    autoscaleIntervalSeconds: positiveSeconds(flags.autoscaleInterval, '--autoscale-interval'),
    logLevel: parseLogLevel(flags.logLevel ?? env['EDGEPILOT_LOG_LEVEL']),
    firmwareKeyFiles: flags.firmwareKey ?? [],
    ...(flags.joinRate !== undefined || flags.deviceMessageRate !== undefined || flags.authFailureRate !== undefined
      ? {
          limits: {
            deviceMessages: flags.deviceMessageRate !== undefined ? parseDeviceMessageRate(flags.deviceMessageRate) : defaultHubLimits.deviceMessages,
            ...withJoin(flags.joinRate === undefined ? defaultHubLimits.join : parseJoinRate(flags.joinRate)),
            ...withFailedAuth(flags.authFailureRate === undefined ? defaultHubLimits.failedAuth : parseFailedAuthRate(flags.authFailureRate)),
          },
        }
      : {}),
    ...(flags.secretKeyFile ? { secretKeyFile: flags.secretKeyFile } : {}),
    ...(flags.insecure ? { insecure: true } : {}),
    ...(tlsFiles ? { tlsFiles } : {}),
    // EDGEPILOT_TLS_SAN (comma-separated) for names a supervisor knows and flags do not (`npm start`).
    tlsNames: [...(env['EDGEPILOT_TLS_SAN']?.split(',').map((n) => n.trim()).filter((n) => n !== '') ?? []), ...(flags.tlsSan ?? [])],
  };
}

function withJoin<T>(join: T | undefined): { join?: T } {
  return join === undefined ? {} : { join };
}

function withFailedAuth<T>(failedAuth: T | undefined): { failedAuth?: T } {
  return failedAuth === undefined ? {} : { failedAuth };
}

export function addHubOptions(command: Command): Command {
  return command
    .option('--settings <file>', 'read the settings from a HubSettings file (YAML); a flag given here replaces its value')
    .option('--check', 'print the settings the hub would start with (flags and --settings, passwords masked) and exit, starting nothing')
    .option('--data-dir <dir>', 'where the store lives (default: $XDG_DATA_HOME/edgepilot/hub)')
    .option('--store <url>', 'keep the store in PostgreSQL (postgres://user:password@host:port/db), shared by several hubs, instead of files in --data-dir')
    .option('--listen <host:port>', 'API address', '0.0.0.0:7080')
    .option('--mqtt-listen <host:port>', 'embedded MQTT broker address', '0.0.0.0:1883')
    .option('--broker <url>', 'use an external broker (mqtt://user:pass@host:1883) instead of the embedded one')
    .option('--broker-dynsec', "the --broker is Mosquitto with its dynamic-security plugin and the URL's user its admin: the hub creates each device's account and ACLs there")
    .option('--advertise-broker <url>', 'broker URL agents are told to use (default: the API host on the broker port)')
    .option('--autoscale-interval <seconds>', 'how often autoscaled workloads are evaluated', '15')
    .option('--no-write-config', 'do not write ~/.config/edgepilot/config.yaml on first start')
    .option('--log-level <level>', 'debug | info | warn | error')
    .option('--join-rate <a,g|off>', 'join attempts per second allowed per source address and overall, bursts of 10 s (default 20,200)')
    .option('--auth-failure-rate <r,b|off>', 'failed logins (API tokens, device credentials) per second per source address after a burst of b; then 429 / CONNACK 3 (default 0.5,30)')
    .option('--device-message-rate <e,r>', 'events and reported states per second one device may send; the excess is dropped (default 20,10)')
    .option('--secret-key-file <file>', 'key (64 hex digits) that encrypts Secrets at rest (default: <data-dir>/secrets.key, made on first start)')
    .option('--insecure', 'plain MQTT and http instead of mqtts and https (only on a network you trust)')
    .option('--tls-cert <pem>', 'server certificate to serve instead of the hub-made one (with --tls-key and --tls-ca)')
    .option('--tls-key <pem>', 'private key of --tls-cert')
    .option('--tls-ca <pem>', 'CA that issued --tls-cert; join tokens carry its fingerprint')
    .option('--tls-san <name>', 'extra DNS name or IP for the hub-made server certificate (repeatable; also env EDGEPILOT_TLS_SAN, comma-separated)', (value: string, previous: string[]) => [...previous, value], [] as string[])
    .option('--firmware-key <pem>', 'public key trusted to sign firmware uploads (repeatable; more via POST /v1/firmware/keys)', (value: string, previous: string[]) => [...previous, value], [] as string[])
    .option('--redis <url>', 'several hubs: the Redis (redis://host:6379) their embedded brokers share; the hub list and leader notices go there too')
    .option('--hub-id <id>', 'this hub\'s name among several (default: host name and API port)')
    .option('--advertise-api <url>', 'API URL agents and other hubs are told for this hub (default: https://<host>:<port> it listens on)');
}

export function hubCommand(): Command {
  return addHubOptions(new Command('hub').description('Run the hub: API, store and (by default) the embedded MQTT broker'))
    .addHelpText(
      'after',
      `
On first start the hub creates an admin token, prints it once and writes it with the hub URL and
its CA certificate to ~/.config/edgepilot/config.yaml (unless that file exists), so the CLI works
at once. It also creates a CA and a server certificate in <data-dir>/tls and serves https and
mqtts with them; join tokens carry the CA's fingerprint, so agents trust the hub from the start.

Examples:
  edgepilot hub
  edgepilot hub --listen 0.0.0.0:8080 --mqtt-listen 0.0.0.0:8883 --data-dir /var/lib/edgepilot
  edgepilot hub --tls-san hub.plant-3.example --tls-san 10.3.0.5
  edgepilot hub --broker mqtt://hub:secret@mosquitto.plant-3:1883
  edgepilot hub --broker mqtt://admin:secret@127.0.0.1:1883 --broker-dynsec
  edgepilot hub --insecure --listen 127.0.0.1:7080
  edgepilot hub --firmware-key ./firmware-signing.pub
  edgepilot hub --redis redis://10.3.0.9:6379 --hub-id hub-a --tls-cert hub-a.pem --tls-key hub-a.key --tls-ca fleet-ca.pem
  edgepilot hub --settings /etc/edgepilot/hub.yaml --check

Several hubs (--redis): their embedded brokers share Redis, so a device may connect to any of
them; agents learn the list of live hubs from /v1/bootstrap and move to another when theirs is
gone. Give all of them certificates from one CA (--tls-*), so one join token fits every hub.
No list of peers is needed: hubs find each other through the shared store and Redis.

A HubSettings file (--settings) holds the same settings (apiVersion: edgepilot.io/v1, kind: HubSettings;
dataDir, listen, mqttListen, logLevel, insecure, secretKeyFile, firmwareKeys, autoscaleIntervalSeconds,
writeCliConfig, limits: {joinRate, authFailureRate, deviceMessageRate}, broker: {url, dynsec, advertise},
tls: {cert, key, ca, san}, cluster: {hubId, store, redis, advertiseApi}).`,
    )
    .action(async (typed: HubFlags, command: Command) => {
      const flags = typed.settings === undefined ? typed : mergeFlags(typed, flagsFromSettingsFile(await readHubSettingsFile(typed.settings)), (key) => command.getOptionValueSource(key));
      const config = hubConfigFromFlags(flags);
      if (flags.check) {
        process.stdout.write(stringify(settingsFileFromFlags(flags)));
        return;
      }
      const { runHubUntilSignal } = await import('./run.js');
      await runHubUntilSignal(config);
    });
}
