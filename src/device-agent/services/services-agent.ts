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
}

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
      })
      .catch((err: unknown) => this.options.log.error(`applying services failed: ${errorMessage(err)}`));
    return this.queue;
  }

  /** The reconciler's decorate step: the instance with its services' environment. */
  decorate(instance: DesiredInstance): DesiredInstance {
    const { instance: decorated, missing } = withServiceEnv(instance, this.current, this.options.env);
    if (missing.length > 0) this.options.log.warn(`${instance.id}: services ${missing.join(', ')} are not known here yet; started without their port variables`);
    return decorated;
  }

  listeningPorts(): number[] {
    return this.proxy.ports();
  }

  stop(): Promise<void> {
    return this.proxy.close();
  }
}
