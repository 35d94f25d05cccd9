import { Aedes, type AuthenticateError, type AuthenticateHandler, type Client } from 'aedes';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import {
  DEVICE_ID_PATTERN,
  JOIN_USERNAME,
  MAX_MQTT_PACKET_BYTES,
  joinTokenId as joinTokenIdOf,
  nonceFromJoinClientId,
  payloadLimits,
  parseTopic,
  tokenIdFromJoinUsername,
} from '../../protocol/index.js';
import type { Logger } from '../../common/log.js';
import { HUB_USERNAME, mayPublish, maySubscribe, type BrokerRole } from './access-policy.js';
import { LISTEN_BACKLOG } from './connection-limit.js';
import { guardSocket } from './packet-size-guard.js';
import { indexedMemoryPersistence } from './indexed-persistence.js';
import { inProcessStreamPair } from './in-process-stream.js';
import type { SharedMessagingLayer } from './redis-layer.js';
import { numberInEmitOrder } from './emit-order.js';
import { BROKER_HEARTBEAT_MS, holdWillsOfLiveBrokers, reportIsOurs, type BrokerLiveness } from './broker-liveness.js';
import { errorMessage } from '../../common/errors.js';

/** What the broker asks the hub at CONNECT time; injected so the broker knows nothing of the store. */
export interface BrokerAuthority {
  readonly hubSecret: string;
  verifyDevice(deviceId: string, password: string): Promise<boolean>;
  /** Join sessions may connect only with a token the hub issued (valid or not: the hub explains refusals). */
  joinTokenKnown(token: string): Promise<boolean>;
  /**
   * Connection-rate limit of the join path, asked before the token is checked: false refuses
   * the CONNACK with "server unavailable" (3), which agents retry with backoff.
   */
  admitJoin?(sourceAddress: string): boolean;
  /**
   * Failed CONNECTs per source address (wrong device, join or hub credentials): an address past
   * its budget is answered "server unavailable" (3) before its credentials are looked at.
   */
  failedLogins?: {
    check(sourceAddress: string): { readonly ok: boolean };
    failed(sourceAddress: string): void;
  };
}

/** A retained message the broker holds from its start (the hub's desired documents after a restart). */
export interface RetainedMessage {
  topic: string;
  payload: Buffer;
}

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  authority: BrokerAuthority;
  log: Logger;
  /** Serve mqtts with this certificate and key (PEM); plain MQTT only without it (--insecure). */
  tls?: { cert: string; key: string };
  /**
   * Retained messages to hold before the first connection is accepted. The embedded broker keeps
   * retained messages in memory only, so a restarted hub hands it the stored desired documents
   * here: every device that reconnects finds its document at its SUBSCRIBE, and the hub need not
   * publish 10,000 documents through MQTT while the fleet's reconnect storm arrives.
   */
  retained?: Iterable<RetainedMessage>;
  /**
   * Several hubs (--redis): retained messages, subscriptions, QoS 1 queues and wills live in
   * Redis and messages travel between the brokers through it. Redis keeps the retained messages
   * across a hub's restart, so `retained` is not used then, nor is our in-memory retained index:
   * aedes-persistence-redis answers a SUBSCRIBE without wildcards with one lookup itself.
   */
  shared?: SharedMessagingLayer;
  /** How often the brokers sharing Redis beat (BROKER_HEARTBEAT_MS; tests make it short). */
  heartbeatMs?: number;
  /** The broker's id among the brokers sharing Redis (the hub id); random without it. */
  id?: string;
  /** Held CONNECTs answered per turn of the event loop at admission (ADMIT_BATCH; tests make it small). */
  admitBatch?: number;
  /** Connections taken at most (the open-files limit less the hub's own reserve, connection-limit.ts); more are closed at once. */
  maxConnections?: number;
}

export interface EmbeddedBroker {
  readonly url: string;
  readonly port: number;
  /** Its id among the brokers sharing Redis. */
  readonly id: string;
  connectedClients(): number;
  /**
   * Ends a deleted device's session. Its role goes first, so its will (a retained "offline"
   * status) is refused instead of being published for a device that no longer exists.
   */
  disconnectDevice(deviceId: string): Promise<boolean>;
  /**
   * Lets devices and join sessions in. Until then only the hub may connect, and the CONNECTs of
   * others are held unanswered (up to MAX_HELD_CONNECTS; beyond, "server unavailable"): the
   * broker listens before the restarted hub has loaded its store, and a device that knocked
   * early is let in at admission instead of being sent off for another backoff round.
   */
  admitDevices(): void;
  /** CONNECTs held until admitDevices(). */
  heldConnections(): number;
  /** Adds retained messages (the stored desired documents); meant for before admitDevices(). */
  seedRetained(messages: Iterable<RetainedMessage>): Promise<number>;
  /**
   * A connection from inside this process (the hub's own session), not through the listener: it
   * never queues behind a reconnecting fleet's CONNECTs, so the hub is subscribed before any
   * device is admitted. Each call is a new connection (mqtt.js calls it again to reconnect).
   */
  connectInProcess(): Duplex;
  close(): Promise<void>;
}

/** CONNACK return codes, MQTT 3.1.1 §3.2.2.3. */
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

/**
 * CONNECTs held while the hub starts; beyond, "server unavailable" (agents retry with jitter).
 * A whole restarted fleet fits: each device refused here came back up to the backoff's 10 s
 * ceiling after the hub was ready, and every refusal and every CONNECT given up was a connection
 * the starting hub accepted, parsed and tore down for nothing (3.9 attempts per device). Agents
 * wait 30 s for their CONNACK (device-session.ts), longer than the hub's start-up; held devices
 * are let in in paced batches (ADMIT_BATCH), not as one burst (bench/RESULTS.md, reconnect,
 * fourth and seventh sessions).
 */
const MAX_HELD_CONNECTS = 20_000;
/** Held CONNECTs answered per turn of the event loop at admission: the sockets' I/O runs between batches. */
export const ADMIT_BATCH = 250;

function refusal(message: string, returnCode: number): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/** Payload bound by channel: a device may not push a 500 KB "status". */
function payloadLimitFor(topic: string): number {
  const parsed = parseTopic(topic);
  if (!parsed) return 0;
  switch (parsed.kind) {
    case 'join-request':
      return payloadLimits.joinRequest;
    case 'rpc-response':
      return payloadLimits.rpcResponse;
    case 'mcu-telemetry':
      return payloadLimits.telemetry;
    case 'runs-ack':
      return payloadLimits.runsAck;
    case 'device':
      return payloadLimits[parsed.channel];
    default:
      return 0;
  }
}

export { BROKER_HEARTBEAT_MS, reportIsOurs, type BrokerLiveness } from './broker-liveness.js';

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const { authority, log } = options;
  // Roles live with the broker instance, decided once at CONNECT.
  const roles = new WeakMap<Client, BrokerRole>();
  // The wrapped stream aedes sees has no address; the join path's rate limit is per source.
  const sourceAddresses = new WeakMap<object, string>();
  let admitting = false;
  let held: { client: Client; admit: () => void }[] = [];
  /** Until admitDevices(), CONNECTs other than the hub's wait here unanswered (see admitDevices). */
  const holdUntilAdmitted =
    (authenticate: AuthenticateHandler): AuthenticateHandler =>
    (client, username, password, done) => {
      if (admitting || username === HUB_USERNAME) return authenticate(client, username, password, done);
      // Devices that gave up waiting (their CONNACK timeout) and knocked again leave closed entries.
      if (held.length >= MAX_HELD_CONNECTS) held = held.filter((h) => !h.client.closed);
      if (held.length >= MAX_HELD_CONNECTS) return done(refusal('the hub is starting', SERVER_UNAVAILABLE), null);
      held.push({ client, admit: () => (client.closed ? done(refusal('gone before it was admitted', SERVER_UNAVAILABLE), null) : authenticate(client, username, password, done)) });
    };

  const memory = options.shared ? undefined : indexedMemoryPersistence();
  const startedAt = Date.now();
  const heartbeatMs = options.heartbeatMs ?? BROKER_HEARTBEAT_MS;
  const broker = await Aedes.createBroker({
    heartbeatInterval: heartbeatMs,
    ...(options.id ? { id: options.id } : {}),
    ...(options.shared ? { persistence: options.shared.persistence as never, mq: options.shared.mq as never } : { persistence: memory }),
    // Devices may only use ids that cannot collide with the hub's or a join session's.
    maxClientsIdLength: 64,
    authenticate: holdUntilAdmitted((client, username, password, done) => {
      const secret = password?.toString('utf8') ?? '';
      const clientId = client.id;
      // The hub's own session first: a guesser on the hub's machine must not cut the hub off its broker.
      if (username === HUB_USERNAME && secret === authority.hubSecret && clientId.startsWith('edgepilot-hub-')) {
        roles.set(client, { kind: 'hub' });
        return done(null, true);
      }
      const source = sourceAddresses.get(client.conn) ?? 'unknown';
      const failedLogins = authority.failedLogins;
      if (failedLogins && !failedLogins.check(source).ok) {
        log.debug(`refused connection ${clientId} from ${source} unread: too many failed logins from there`);
        return done(refusal('too many failed logins from this address; retry later', SERVER_UNAVAILABLE), null);
      }
      // Over Redis, a session is only taken once Redis has stored it: with Redis unreachable the
      // CONNECT waited unanswered, past the agent's CONNACK timeout, before the agent moved on.
      // "Server unavailable" now sends it to another hub at once (its backoff and hub list; the
      // credentials are kept), and says why in this hub's log.
      const messaging = options.shared?.health();
      if (messaging && !messaging.ok) {
        log.debug(`refused connection ${clientId} from ${source}: ${messaging.reason ?? 'redis unreachable'}`);
        return done(refusal(`this hub cannot reach its message layer now (${messaging.reason ?? 'redis unreachable'}); try another hub`, SERVER_UNAVAILABLE), null);
      }
      // Every refusal for wrong credentials spends the address's budget (a "not now" does not).
      const refuse = (message: string, returnCode: number): void => {
        if (returnCode !== SERVER_UNAVAILABLE) failedLogins?.failed(source);
        done(refusal(message, returnCode), null);
      };
      if (username === HUB_USERNAME) return refuse('hub credentials refused', BAD_USERNAME_OR_PASSWORD);
      const joinTokenId = username === undefined ? undefined : tokenIdFromJoinUsername(username);
      if (username === JOIN_USERNAME || joinTokenId !== undefined) {
        // `join.<token id>` (agents since TLS) must name the token it presents; bare `join` is the older form.
        if (joinTokenId !== undefined && joinTokenIdOf(secret) !== joinTokenId) return refuse('join username names another token', NOT_AUTHORIZED);
        const nonce = nonceFromJoinClientId(clientId);
        if (nonce === undefined) return refuse('join session needs client id join-<nonce>', NOT_AUTHORIZED);
        if (authority.admitJoin && !authority.admitJoin(source)) {
          log.warn(`refused join session ${clientId} from ${source}: join connection rate exceeded`);
          return done(refusal('too many join connections; retry later', SERVER_UNAVAILABLE), null);
        }
        authority.joinTokenKnown(secret).then(
          (known) => {
            if (!known) {
              log.warn(`refused join session ${clientId} from ${source}: unknown join token`);
              return refuse('unknown join token', NOT_AUTHORIZED);
            }
            roles.set(client, { kind: 'join', nonce });
            done(null, true);
          },
          // The store did not answer (PostgreSQL down or saturated): "not now", not "not yours".
          // A refusal told a joining agent its token was refused for good, and it gave up
          // (seen in `npm run bench -- registration --hubs 3 --store postgres`).
          (err: unknown) => done(refusal(`token check failed, retry later: ${errorMessage(err)}`, SERVER_UNAVAILABLE), null),
        );
        return;
      }
      if (username === undefined || username !== clientId || !DEVICE_ID_PATTERN.test(username)) {
        log.warn(`refused connection ${clientId} from ${source}: username must be the device id`);
        return refuse('username must equal the client id (the device id)', BAD_USERNAME_OR_PASSWORD);
      }
      authority.verifyDevice(username, secret).then(
        (ok) => {
          if (!ok) {
            log.warn(`refused device ${username} from ${source}: wrong credentials`);
            return refuse('wrong device credentials', BAD_USERNAME_OR_PASSWORD);
          }
          roles.set(client, { kind: 'device', deviceId: username });
          done(null, true);
        },
        // As above: a device whose credentials could not be checked is told to come back, not
        // that the hub no longer accepts them.
        (err: unknown) => done(refusal(`credential check failed, retry later: ${errorMessage(err)}`, SERVER_UNAVAILABLE), null),
      );
    }),
    authorizePublish(client, packet, done) {
      if (client === null) return done(null);
      const role = roles.get(client);
      if (!role || !mayPublish(role, packet.topic)) {
        log.warn(`refused publish by ${client.id} to ${packet.topic}`);
        return done(new Error(`not allowed to publish to ${packet.topic}`));
      }
      if (role.kind !== 'hub') {
        const limit = payloadLimitFor(packet.topic);
        if (packet.payload.length > limit) {
          log.warn(`refused publish by ${client.id} to ${packet.topic}: ${packet.payload.length} bytes exceeds ${limit}`);
          return done(new Error('payload too large'));
        }
      }
      done(null);
    },
    authorizeSubscribe(client, subscription, done) {
      const role = roles.get(client);
      if (!role || !maySubscribe(role, subscription.topic)) {
        log.warn(`refused subscription by ${client.id} to ${subscription.topic}`);
        // A null subscription makes aedes answer 0x80 (failure) in the SUBACK, MQTT 3.1.1 §3.9.3.
        return done(null, null);
      }
      done(null, subscription);
    },
    authorizeForward(client, packet) {
      // Over Redis every hub's session would receive every device's reports; each hub takes
      // those of the devices connected to its own broker, so a report is ingested (and written)
      // once. A dead broker's devices' wills are published by a live one: taken by whoever does.
      if (!options.shared || roles.get(client)?.kind !== 'hub') return packet;
      return reportIsOurs(packet, broker.id, liveness()) ? packet : null;
    },
  });
  // Over Redis a broker's messages must leave in the order aedes numbered them (emit-order.ts).
  if (options.shared) numberInEmitOrder(options.shared.mq as never, broker as unknown as { id: string; counter: number });

  // What this broker knows of the others (broker-liveness.ts): silence counts only while it can hear.
  const liveness = (): BrokerLiveness => ({
    lastBeat: (broker as unknown as { brokers: Record<string, number> }).brokers,
    listeningSince: options.shared ? laterOf(startedAt, options.shared.listeningSince()) : startedAt,
    now: Date.now(),
    deadlineMs: 3 * heartbeatMs,
  });
  if (options.shared) holdWillsOfLiveBrokers(options.shared.persistence, liveness);

  const seedRetained = async (messages: Iterable<RetainedMessage>): Promise<number> => {
    // Over Redis the retained messages outlive any one hub: there is nothing to seed.
    if (!memory) return 0;
    let seeded = 0;
    for (const message of messages) {
      await memory.storeRetained({ cmd: 'publish', topic: message.topic, payload: message.payload, qos: 1, retain: true });
      seeded += 1;
    }
    if (seeded > 0) log.info(`embedded MQTT broker holds ${seeded} retained message(s) from the store`);
    return seeded;
  };
  await seedRetained(options.retained ?? []);

  broker.on('clientError', (client, err) => log.debug(`client ${client.id}: ${err.message}`));
  // aedes reports its own failures here (over Redis: a persistence call while Redis is down); an
  // 'error' event nobody listens to would end the hub, which is degraded, not dead.
  (broker as unknown as { on(event: 'error', listener: (err: Error) => void): void }).on('error', (err) => log.warn(`broker: ${err.message}`));

  const accept = (socket: Socket): void => {
    socket.setNoDelay(true);
    const guarded = guardSocket(socket, MAX_MQTT_PACKET_BYTES, (reason) =>
      log.warn(`closed connection from ${socket.remoteAddress ?? '?'}: ${reason}`),
    );
    sourceAddresses.set(guarded, socket.remoteAddress ?? 'unknown');
    broker.handle(guarded);
  };
  const server: Server = options.tls ? createTlsServer({ cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' }, accept) : createServer(accept);
  if (options.maxConnections !== undefined) {
    server.maxConnections = options.maxConnections;
    // Said once a minute, with how many were closed meanwhile: a fleet larger than the limit knocks all the time.
    let dropped = 0;
    let saidAt = -Infinity;
    server.on('drop', () => {
      dropped += 1;
      if (Date.now() - saidAt < 60_000) return;
      saidAt = Date.now();
      log.warn(`closed ${dropped} MQTT connection(s) at once: the broker holds ${options.maxConnections} connections, the process's open-files limit less the hub's own files; raise the limit (systemd LimitNOFILE=, ulimit -n) or add a hub`);
      dropped = 0;
    });
  }
  if (options.tls) server.on('tlsClientError', (err: Error, socket: Socket) => log.debug(`TLS handshake from ${socket.remoteAddress ?? '?'} failed: ${err.message}`));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port, host: options.host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  log.info(`embedded MQTT broker listening on ${options.host}:${port}${options.tls ? ' (mqtts)' : ' (plain MQTT, --insecure)'}`);

  return {
    url: `${options.tls ? 'mqtts' : 'mqtt'}://${host}:${port}`,
    port,
    id: broker.id,
    connectedClients: () => broker.connectedClients,
    admitDevices: () => {
      if (admitting) return;
      admitting = true;
      if (held.length > 0) log.info(`admitting ${held.length} connection(s) held while the hub started`);
      const admitBatch = (): void => {
        for (const { admit } of held.splice(0, options.admitBatch ?? ADMIT_BATCH)) admit();
        if (held.length > 0) setImmediate(admitBatch);
      };
      admitBatch();
    },
    seedRetained,
    heldConnections: () => held.length,
    connectInProcess: () => {
      const [brokerEnd, clientEnd] = inProcessStreamPair();
      broker.handle(brokerEnd);
      return clientEnd;
    },
    disconnectDevice: (deviceId) => {
      // aedes keeps its connected clients by client id (a device's client id is its id).
      const client = (broker as unknown as { clients: Record<string, Client | undefined> }).clients[deviceId];
      const role = client && roles.get(client);
      if (!client || role?.kind !== 'device' || role.deviceId !== deviceId) return Promise.resolve(false);
      roles.delete(client);
      return new Promise((resolve) => client.close(() => resolve(true)));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close();
        broker.close(() => resolve());
      }),
  };
}

/** The later instant; undefined (not listening) wins. */
const laterOf = (a: number, b: number | undefined): number | undefined => (b === undefined ? undefined : Math.max(a, b));
