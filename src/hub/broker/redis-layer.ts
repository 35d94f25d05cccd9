// The MQTT layer several hubs share (issue 15): each hub keeps its own aedes broker (so device
// authentication and ACLs stay ours) and the brokers meet in Redis, through the packages made
// for exactly this: aedes-persistence-redis keeps retained messages, subscriptions, QoS 1 queues
// and wills; mqemitter-redis carries a message published at one broker to subscribers at another.
import { createRequire } from 'node:module';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../common/log.js';

// Both packages ship CommonJS; these are the parts handed to aedes.
type PersistenceFactory = (opts: { conn: Redis }) => object;
type EmitterFactory = (opts: { subConn: Redis; pubConn: Redis }) => { close(cb?: () => void): void; state: { on(event: 'error', listener: (err: Error) => void): void } };

const require = createRequire(import.meta.url);
const redisPersistence = require('aedes-persistence-redis') as PersistenceFactory;
const redisEmitter = require('mqemitter-redis') as EmitterFactory;

/** Whether the shared layer can carry messages now, and if not, why (said on /healthz and in `get hubs`). */
export interface LayerHealth {
  ok: boolean;
  reason?: string;
}

export interface SharedMessagingLayer {
  /** What aedes gets as `persistence` and `mq`. */
  readonly persistence: object;
  readonly mq: object;
  health(): LayerHealth;
  /** One more connection for the hub's own use (registry, change notices), closed with the layer. */
  connection(role: string): Redis;
  close(): Promise<void>;
}

/**
 * Connections that retry for ever with a short bounded delay (Redis comes back by itself after a
 * restart, and so must we), and that fail a command after a few retries instead of holding it
 * for minutes: a hub whose Redis is gone says so (`degraded`) and refuses writes that need it.
 */
function redisOptions(subscriber: boolean): RedisOptions {
  return {
    retryStrategy: (times) => Math.min(100 * times, 1000),
    maxRetriesPerRequest: 2,
    enableAutoPipelining: true,
    lazyConnect: false,
    // A SUBSCRIBE made while a connection is still connecting (aedes' emitter does, as clients
    // subscribe) is written before ioredis' ready check; Redis then refuses the check's INFO on a
    // subscribed connection and ioredis took that as fatal: it dropped and reconnected, again and
    // again while subscriptions kept coming (seen at hub start under a registration storm). Our
    // subscriber connections skip the check (it only waits out a Redis still loading its data,
    // and ours saves none) and the client-name handshake.
    ...(subscriber ? { enableReadyCheck: false, disableClientInfo: true } : {}),
  };
}

/** Checks the URL the operator gave (`--redis`), naming the flag in the error. */
export function parseRedisUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`--redis ${url}: not a URL (expected redis://host:port)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new Error(`--redis ${url}: expected a redis:// or rediss:// URL`);
  return parsed;
}

export function connectSharedMessaging(url: string, log: Logger): SharedMessagingLayer {
  parseRedisUrl(url);
  const connections = new Map<string, Redis>();
  let lastError: string | undefined;
  // A connection still making its first attempt is starting, not unreachable: it counts once it
  // was ready or failed. (The first heartbeat of a hub whose connections were still coming up
  // announced it degraded; subscriber connections now skip the ready check and the hub gets there sooner.)
  const settled = new WeakSet<Redis>();
  const open = (role: string): Redis => {
    const existing = connections.get(role);
    if (existing) return existing;
    // Roles ending in -sub only subscribe (mqemitter-redis's subConn, the change notices' subscriber).
    const conn = new Redis(url, redisOptions(role.endsWith('-sub')));
    conn.on('error', (err: Error) => {
      settled.add(conn);
      // ioredis reports every failed reconnect; say it once per outage.
      if (lastError !== err.message) log.warn(`redis (${role}): ${err.message}`);
      lastError = err.message;
    });
    conn.on('ready', () => {
      settled.add(conn);
      if (lastError !== undefined) log.info(`redis (${role}) is reachable again`);
      lastError = undefined;
    });
    connections.set(role, conn);
    return conn;
  };
  const persistence = redisPersistence({ conn: open('persistence') });
  const mq = redisEmitter({ subConn: open('emitter-sub'), pubConn: open('emitter-pub') });
  // It re-emits its connections' errors here, and an 'error' nobody listens to ends the process;
  // the connections' own listeners (above) already said it.
  mq.state.on('error', () => undefined);
  let closed = false;
  return {
    persistence,
    mq,
    connection: open,
    health() {
      const down = [...connections].filter(([, conn]) => conn.status !== 'ready' && settled.has(conn));
      if (down.length === 0) return { ok: true };
      return { ok: false, reason: `redis unreachable (${lastError ?? down.map(([role, conn]) => `${role} ${conn.status}`).join(', ')})` };
    },
    async close() {
      if (closed) return;
      closed = true;
      // aedes closed the emitter and persistence (when it was closed); what remains is ours.
      for (const conn of connections.values()) conn.disconnect();
    },
  };
}
