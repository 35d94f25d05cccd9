// The MQTT layer several hubs share (issue 15): each hub keeps its own aedes broker (so device
// authentication and ACLs stay ours) and the brokers meet in Redis, through the packages made
// for exactly this: aedes-persistence-redis keeps retained messages, subscriptions, QoS 1 queues
// and wills; mqemitter-redis carries a message published at one broker to subscribers at another.
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../common/log.js';
import { parseRedisUrl } from './redis-url.js';

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

export function connectSharedMessaging(url: string, log: Logger): SharedMessagingLayer {
  parseRedisUrl(url);
  const connections = new Map<string, Redis>();
  const states = new Map<string, { wasReady: boolean; failed: boolean; readyAt: number | undefined }>();
  let lastError: string | undefined;
  const open = (role: string): Redis => {
    const existing = connections.get(role);
    if (existing) return existing;
    // Roles ending in -sub only subscribe (mqemitter-redis's subConn, the change notices' subscriber).
    // Every connection's commands are handled: mqemitter-redis closes with a quit() it does not
    // wait on, which our disconnect right after (or Redis gone) rejected, unhandled, ending the
    // process (broker-redis-blip.test.ts at teardown, about 1 run in 6; a fresh-clone CI run).
    const conn = withHandledCommands(new Redis(url, redisOptions(role.endsWith('-sub'))));
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
  endRetainedStreamsOnError(persistence, log);
  const subConn = open('emitter-sub');
  const mq = redisEmitter({ subConn, pubConn: open('emitter-pub') });
  resubscribeOnReturn(subConn, () => Object.keys((mq as unknown as { _topics: Record<string, number> })._topics), log);
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

/**
 * What the emitter's subscriber must subscribe to again: mqemitter-redis names its Redis
 * subscriptions after the MQTT filters, with `+` and `#` made `*` (then a pattern subscription).
 */
export function resubscriptions(topics: readonly string[]): { channels: string[]; patterns: string[] } {
  return { channels: topics.filter((t) => !t.includes('*')), patterns: topics.filter((t) => t.includes('*')) };
}

/**
 * Each time the emitter's subscriber is back, subscribes it again to every topic the emitter
 * has. mqemitter-redis subscribes a topic once, when its first listener comes, and counts it as
 * subscribed whatever Redis answered; ioredis, on reconnecting, subscribes again only what Redis
 * had confirmed. A topic first wanted while Redis was unreachable (a device that reached this
 * hub then, its `desired` and `rpc/req`) was never subscribed afterwards: nothing published for
 * it anywhere, this broker's own publishes included (they come back through Redis), reached it.
 * Agents that moved hubs in the Redis outage never got their documents (hubs-outages.test.ts,
 * about 1 run in 5). Subscribing to what is subscribed already changes nothing in Redis.
 */
function resubscribeOnReturn(subConn: Redis, topics: () => string[], log: Logger): void {
  let readyBefore = false;
  subConn.on('ready', () => {
    if (!readyBefore) {
      readyBefore = true;
      return;
    }
    const { channels, patterns } = resubscriptions(topics());
    const failed = (err: unknown): void => log.warn(`redis (emitter-sub): subscribing again after Redis came back: ${err instanceof Error ? err.message : String(err)}`);
    if (channels.length > 0) subConn.subscribe(...channels).catch(failed);
    if (patterns.length > 0) subConn.psubscribe(...patterns).catch(failed);
  });
}

/**
 * The connection as aedes-persistence-redis gets it: every command's promise has a handler, so
 * one it does not wait for (a will's list entry, removed or added beside the awaited write) and
 * that fails while Redis is unreachable is not an unhandled rejection, which ends a Node process:
 * a device connecting or disconnecting during a Redis outage ended its hub (found by
 * test/integration/broker-redis-blip.test.ts). Callers that wait still get the failure.
 */
export function withHandledCommands<T extends { sendCommand(...args: never[]): unknown }>(conn: T): T {
  // Every ioredis command goes through sendCommand and returns its promise. The connection itself
  // is kept (a Proxy around it made some devices of a 3-hub registration storm never come online).
  const send = conn.sendCommand.bind(conn) as (...args: unknown[]) => unknown;
  (conn as unknown as { sendCommand: (...args: unknown[]) => unknown }).sendCommand = (...args: unknown[]): unknown => {
    const result = send(...args);
    if (result instanceof Promise) result.catch(() => undefined);
    return result;
  };
  return conn;
}

/**
 * aedes pipes the retained messages of a SUBSCRIBE from the persistence's stream without an error
 * listener: a SUBSCRIBE while Redis was unreachable failed that stream, and the unhandled 'error'
 * ended the hub (any device or hub session subscribing in a Redis outage; found by
 * test/integration/broker-redis-blip.test.ts). The stream's failure is said and the stream ends:
 * that SUBSCRIBE gets no retained messages (the live ones still come, see resubscribeOnReturn).
 */
function endRetainedStreamsOnError(persistence: object, log: Logger): void {
  const p = persistence as { createRetainedStreamCombi(patterns: string[]): Readable };
  const open = p.createRetainedStreamCombi.bind(persistence);
  p.createRetainedStreamCombi = (patterns) => {
    const stream = open(patterns);
    stream.on('error', (err: Error) => log.warn(`retained messages of ${patterns.join(', ')} not sent: ${err.message}`));
    return stream;
  };
}
