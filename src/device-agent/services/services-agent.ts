import type { Logger } from '../../common/log.js';
import { decodePayload, deviceServicesSchema, payloadLimits, type DesiredInstance, type DeviceServices } from '../../protocol/index.js';
import type { EventSink } from '../reconcile/model.js';
import { EndpointCache } from './endpoint-cache.js';
import { ServiceProxy } from './service-proxy.js';
import { withServiceEnv, type ServiceEnvContext } from './service-env.js';
import { errorMessage } from '../../common/errors.js';

export interface ServicesAgentOptions {
  stateDir: string;
  env: ServiceEnvContext;
  connectTimeoutMs: number;
  event: EventSink;
  log: Logger;
  /**
   * How long a start waits for the document of a service it lists that is not known here yet (the
   * hub sends the services document after the desired one that first uses it). Default 5 s.
   */
  serviceWaitMs?: number;
}

const SERVICE_WAIT_MS = 5000;

/**
 * The agent's side of Services (issue 14): keeps the last services document on disk, runs the
 * local proxy from it (from the kept copy at start, before and whether or not the hub answers),
 * and gives starting instances their service environment.
 */
export class ServicesAgent {
  private readonly cache: EndpointCache;
  private readonly proxy: ServiceProxy;
  private current: DeviceServices | undefined;
  /** Documents are applied one after another, in arrival order. */
  private queue: Promise<void> = Promise.resolve();
  /** Starts waiting for a newer document (woken after each one is applied). */
  private waiters = new Set<() => void>();

  constructor(private readonly options: ServicesAgentOptions) {
    this.cache = new EndpointCache(options.stateDir);
    this.proxy = new ServiceProxy({ listenHost: options.env.proxyHost, now: Date.now, connectTimeoutMs: options.connectTimeoutMs, event: options.event, log: options.log });
  }

  async start(): Promise<void> {
    this.current = await this.cache.load((m) => this.options.log.warn(m));
    if (this.current) await this.proxy.update(this.current.services);
  }

  /** A services document from the hub (retained on our services topic). */
  received(payload: Buffer): Promise<void> {
    if (payload.length === 0) return this.queue;
    const decoded = decodePayload(deviceServicesSchema, payload, payloadLimits.services);
    if (!decoded.ok) {
      this.options.log.warn(`dropped services document: ${decoded.error}`);
      return this.queue;
    }
    this.queue = this.queue
      .then(async () => {
        await this.cache.save(decoded.value);
        this.current = decoded.value;
        await this.proxy.update(decoded.value.services);
        for (const wake of [...this.waiters]) wake();
      })
      .catch((err: unknown) => this.options.log.error(`applying services failed: ${errorMessage(err)}`));
    return this.queue;
  }

  /**
   * The reconciler's (and a Job attempt's) decorate step: the instance with its services' environment.
   * A service not known yet is waited for, up to `serviceWaitMs`: its document is usually on its way.
   */
  async decorate(instance: DesiredInstance): Promise<DesiredInstance> {
    let result = withServiceEnv(instance, this.current, this.options.env);
    const deadline = Date.now() + (this.options.serviceWaitMs ?? SERVICE_WAIT_MS);
    while (result.missing.length > 0 && Date.now() < deadline) {
      await this.nextDocument(deadline - Date.now());
      result = withServiceEnv(instance, this.current, this.options.env);
    }
    if (result.missing.length > 0) this.options.log.warn(`${instance.id}: services ${result.missing.join(', ')} are not known here yet; started without their port variables`);
    return result.instance;
  }

  /** Resolves when the next services document is applied, or after `ms`. */
  private nextDocument(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.waiters.add(done);
    });
  }

  listeningPorts(): number[] {
    return this.proxy.ports();
  }

  stop(): Promise<void> {
    for (const wake of [...this.waiters]) wake();
    return this.proxy.close();
  }
}
