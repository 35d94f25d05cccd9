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
  /**
   * Since when the subscriber that carries the other brokers' messages (their heartbeats) has been
   * connected without a break; undefined while it is not (broker-liveness.ts).
   */
  listeningSince(): number | undefined;
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

/** What the layer knows of one of its connections. */
export interface ConnectionState {
  role: string;
  /** ioredis' status: 'ready' carries commands; 'connecting', 'reconnecting', … do not. */
  status: string;
  /** Whether it was ever ready. */
  wasReady: boolean;
  /** Whether it failed (an error, a lost connection) since it was last ready. */
  failed: boolean;
}

/**
 * Whether the layer is healthy, from its connections. A connection is down once it lost its
 * ready state or failed; one still making its first connection with no error yet is starting,
 * not down: a hub that announced itself "degraded" in its first heartbeat (its registry
 * connection was a few milliseconds old) was left out of the other hubs' bootstrap lists until
 * the next heartbeat (found by test/integration/several-hubs.test.ts under load).
 */
export function layerHealth(connections: readonly ConnectionState[], lastError: string | undefined): LayerHealth {
  const down = connections.filter((c) => c.status !== 'ready' && (c.wasReady || c.failed));
  if (down.length === 0) return { ok: true };
  return { ok: false, reason: `redis unreachable (${lastError ?? down.map((c) => `${c.role} ${c.status}`).join(', ')})` };
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
  const states = new Map<string, { wasReady: boolean; failed: boolean; readyAt: number | undefined }>();
  let lastError: string | undefined;
  const open = (role: string): Redis => {
    const existing = connections.get(role);
    if (existing) return existing;
    // Roles ending in -sub only subscribe (mqemitter-redis's subConn, the change notices' subscriber).
    const conn = new Redis(url, redisOptions(role.endsWith('-sub')));
    const state = { wasReady: false, failed: false, readyAt: undefined as number | undefined };
    conn.on('error', (err: Error) => {
      state.failed = true;
      // ioredis reports every failed reconnect; say it once per outage.
      if (lastError !== err.message) log.warn(`redis (${role}): ${err.message}`);
      lastError = err.message;
    });
    conn.on('close', () => {
      state.failed = true;
      state.readyAt = undefined;
    });
    conn.on('ready', () => {
      state.readyAt = Date.now();
      state.wasReady = true;
      state.failed = false;
      if (lastError !== undefined) log.info(`redis (${role}) is reachable again`);
      lastError = undefined;
    });
    connections.set(role, conn);
    states.set(role, state);
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
    listeningSince: () => (connections.get('emitter-sub')?.status === 'ready' ? states.get('emitter-sub')?.readyAt : undefined),
    health() {
      return layerHealth(
        [...connections].map(([role, conn]) => ({ role, status: conn.status, ...(states.get(role) ?? { wasReady: false, failed: true }) })),
        lastError,
      );
    },
    async close() {
      if (closed) return;
      closed = true;
      // aedes closed the emitter and persistence (when it was closed); what remains is ours.
      for (const conn of connections.values()) conn.disconnect();
    },
  };
}
