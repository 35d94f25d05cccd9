import { join } from 'node:path';
import { dataHome } from '../common/paths.js';
import type { LogLevel } from '../common/log.js';
import type { HubLimits } from './limits/hub-limits.js';

export interface HubConfig {
  dataDir: string;
  /**
   * A postgres:// URL: the store is that database, shared by several hubs (--store); absent: lowdb
   * files in dataDir. Side files (admin token, API tokens, config objects, firmware, TLS CA, audit)
   * stay in dataDir either way.
   */
  store?: string;
  apiHost: string;
  apiPort: number;
  /** Embedded broker address; ignored when `externalBroker` is set. */
  mqttHost: string;
  mqttPort: number;
  /** `mqtt://user:pass@host:port` of an external broker (Mosquitto); the embedded one is not started. */
  externalBroker?: string;
  /**
   * The external broker is Mosquitto with the dynamic-security plugin and the --broker URL's
   * user is its admin: the hub keeps the broker's accounts and ACLs (--broker-dynsec).
   */
  brokerDynsec?: boolean;
  /** The broker URL agents are told to use; defaults to what the hub itself connects to. */
  advertiseBroker?: string;
  /** Write a CLI config with the hub URL and the new admin token on first start, if none exists there. */
  cliConfigPath?: string;
  /** How often autoscaled workloads are evaluated (HPA's sync period is 15 s). */
  autoscaleIntervalSeconds: number;
  logLevel: LogLevel;
  /** PEM files of public keys whose firmware signatures uploads must carry (--firmware-key). */
  firmwareKeyFiles?: string[];
  /** Per-device message rates and the join path's connection rates (defaults: hub-limits.ts). */
  limits?: HubLimits;
  /** Key file for Secrets at rest (--secret-key-file); default `<dataDir>/secrets.key`. */
  secretKeyFile?: string;
  /** Plain MQTT and http instead of mqtts and https (--insecure): only for a trusted network. */
  insecure?: boolean;
  /** Certificates to serve instead of the hub-made ones (--tls-cert/--tls-key/--tls-ca, all three). */
  tlsFiles?: { cert: string; key: string; ca: string };
  /** Extra DNS names or IPs for the hub-made server certificate (--tls-san), besides this machine's own. */
  tlsNames?: string[];
  /**
   * Several hubs (issue 15): the Redis their embedded brokers share (--redis redis://host:port).
   * Without it the hub is alone: its broker keeps everything in memory.
   */
  redisUrl?: string;
  /** This hub's name among several (--hub-id); default: the host name and API port. */
  hubId?: string;
  /** The API URL other hubs and agents are told for this hub (--advertise-api); default: its own address. */
  advertiseApi?: string;
}

export function defaultHubConfig(env: NodeJS.ProcessEnv = process.env): HubConfig {
  return {
    dataDir: env['EDGEPILOT_DATA_DIR'] ? join(env['EDGEPILOT_DATA_DIR'], 'hub') : join(dataHome(env), 'edgepilot', 'hub'),
    apiHost: '0.0.0.0',
    apiPort: 7080,
    mqttHost: '0.0.0.0',
    mqttPort: 1883,
    autoscaleIntervalSeconds: 15,
    logLevel: 'info',
    firmwareKeyFiles: [],
  };
}

/** `host:port`, `:port` or `port`. */
export function parseListen(value: string, fallbackHost: string): { host: string; port: number } {
  const match = /^(?:(.*):)?(\d{1,5})$/.exec(value.trim());
  const port = Number(match?.[2]);
  if (!match || !Number.isInteger(port) || port > 65535) throw new Error(`"${value}" is not host:port`);
  return { host: match[1] || fallbackHost, port };
}
