import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../../common/log.js';
import type { DeviceService } from '../../protocol/index.js';
import type { EventSink } from '../reconcile/model.js';
import { Balancer, targetsFor, type Target } from './balancer.js';

export interface ServiceProxyOptions {
  /** Where every service port listens (`--service-address`, 127.0.0.1 by default). */
  listenHost: string;
  now: () => number;
  /** A connection attempt to an endpoint that takes longer fails (and drops the endpoint). */
  connectTimeoutMs: number;
  event: EventSink;
  log: Logger;
}

interface Listener {
  service: string;
  targetPort: number;
  server: Server;
  balancer: Balancer;
}

/** Why a listener could not be opened, with a code (EADDRINUSE …) for the event. */
class ListenError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The agent's local TCP proxy (issue 14): one listening port per service port on this device,
 * each connection forwarded to an endpoint chosen by the {@link Balancer} (same device first,
 * then same site, round-robin, failed endpoints dropped for a while). It works from the last
 * services document alone, so it keeps resolving while the hub is away.
 */
export class ServiceProxy {
  private readonly listeners = new Map<number, Listener>();
  private closed = false;

  constructor(private readonly options: ServiceProxyOptions) {}

  /** The ports listening now, for tests and logs. */
  ports(): number[] {
    return [...this.listeners.keys()].sort((a, b) => a - b);
  }

  /** Opens, re-targets or closes listeners so that they match `services`. */
  async update(services: readonly DeviceService[]): Promise<void> {
    if (this.closed) return;
    const wanted = new Map<number, { service: DeviceService; targetPort: number }>();
    for (const service of services) for (const p of service.ports) wanted.set(p.port, { service, targetPort: p.targetPort });
    for (const [port, listener] of [...this.listeners]) {
      const want = wanted.get(port);
      if (!want || want.service.name !== listener.service || want.targetPort !== listener.targetPort) {
        this.listeners.delete(port);
        listener.server.close();
      }
    }
    for (const [port, { service, targetPort }] of wanted) {
      const targets = targetsFor(service.endpoints, targetPort);
      const existing = this.listeners.get(port);
      if (existing) {
        existing.balancer.setTargets(targets);
        continue;
      }
      const balancer = new Balancer();
      balancer.setTargets(targets);
      const listener: Listener = { service: service.name, targetPort, balancer, server: createServer({ allowHalfOpen: true }, (socket) => this.forward(listener, socket)) };
      try {
        await listen(listener.server, port, this.options.listenHost);
        this.listeners.set(port, listener);
        this.options.log.info(`service ${service.name}: listening on ${this.options.listenHost}:${port} (${targets.length} endpoints)`);
      } catch (err) {
        const code = err instanceof ListenError ? err.code : 'unknown';
        this.options.event({ type: 'Warning', reason: 'ServicePortUnavailable', message: `service ${service.name}: cannot listen on ${this.options.listenHost}:${port} (${code}); its users on this device cannot reach it`, object: { kind: 'Service', name: service.name } });
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const servers = [...this.listeners.values()].map((l) => l.server);
    this.listeners.clear();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  private forward(listener: Listener, client: Socket): void {
    client.pause();
    // Until an endpoint is connected, a client error only ends this connection.
    client.once('error', () => undefined);
    const candidates = listener.balancer.order(this.options.now());
    const attempt = (index: number): void => {
      const target = candidates[index];
      if (!target || client.destroyed) {
        if (!target) this.options.log.warn(`service ${listener.service}: no endpoint accepted the connection (${candidates.length} tried)`);
        client.destroy();
        return;
      }
      const upstream = createConnection({ host: target.host, port: target.port, allowHalfOpen: true });
      const timer = setTimeout(() => upstream.destroy(new Error('connect timeout')), this.options.connectTimeoutMs);
      const onFail = (err: Error): void => {
        clearTimeout(timer);
        this.dropped(listener, target, err);
        attempt(index + 1);
      };
      upstream.once('error', onFail);
      upstream.once('connect', () => {
        clearTimeout(timer);
        upstream.off('error', onFail);
        if (listener.balancer.succeeded(target.key)) this.options.log.info(`service ${listener.service}: endpoint ${target.key} answers again`);
        // Half-closes pass through (pipe ends the other side once everything written is flushed);
        // an error on either side ends both at once.
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        upstream.on('close', (hadError) => hadError && client.destroy());
        client.on('close', (hadError) => hadError && upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    attempt(0);
  }

  private dropped(listener: Listener, target: Target, err: Error): void {
    const code = (err as { code?: unknown }).code;
    const why = typeof code === 'string' ? code : err.message;
    if (!listener.balancer.failed(target.key, this.options.now())) return;
    this.options.event({
      type: 'Warning',
      reason: 'EndpointDropped',
      message: `service ${listener.service}: endpoint ${target.key} (${target.host}:${target.port}) refused a connection (${why}); left out for a while, other endpoints serve`,
      object: { kind: 'Service', name: listener.service },
    });
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      const code = (err as { code?: unknown }).code;
      reject(new ListenError(typeof code === 'string' ? code : 'unknown', err.message));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
