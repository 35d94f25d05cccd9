// Which hubs are alive (issue 15): each hub announces itself in Redis under a key that expires
// unless renewed, so a hub that dies (SIGKILL, power) drops out of `get hubs` and of the hub list
// agents get from /v1/bootstrap within one TTL, with no one having to notice and remove it.
import type { Redis } from 'ioredis';
import { decodePayload, hubViewSchema, type HubView } from '../../protocol/index.js';
import type { Logger } from '../../common/log.js';
import { errorMessage } from '../../common/errors.js';

const KEY_PREFIX = 'edgepilot:hub:';

/** Where hubs announce themselves; Redis in production, a map in tests. */
export interface HubDirectory {
  announce(view: HubView, ttlMs: number): Promise<void>;
  withdraw(id: string): Promise<void>;
  /** Every announcement that has not expired. */
  live(): Promise<HubView[]>;
}

export class RedisHubDirectory implements HubDirectory {
  constructor(private readonly redis: Redis) {}

  async announce(view: HubView, ttlMs: number): Promise<void> {
    await this.redis.set(KEY_PREFIX + view.id, JSON.stringify(view), 'PX', ttlMs);
  }

  async withdraw(id: string): Promise<void> {
    await this.redis.del(KEY_PREFIX + id);
  }

  async live(): Promise<HubView[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', `${KEY_PREFIX}*`, 'COUNT', 200);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    if (keys.length === 0) return [];
    const values = await this.redis.mget(...keys);
    // An entry another (newer or broken) hub wrote that does not parse is left out, not fatal.
    return values.flatMap((value) => {
      if (value === null) return [];
      const decoded = decodePayload(hubViewSchema, Buffer.from(value), 8 * 1024);
      return decoded.ok ? [decoded.value] : [];
    });
  }
}

export interface HubRegistryOptions {
  /** Absent: the hub is alone and lists only itself. */
  directory?: HubDirectory;
  /** This hub as it is now (leading, load, health); asked at every heartbeat and listing. */
  self: () => HubView;
  /** How often the announcement is renewed; it expires after three missed renewals. */
  intervalMs: number;
  log: Logger;
}

/** Announces this hub and lists the live ones, this hub first (agents try the list in order). */
export class HubRegistry {
  private timer: NodeJS.Timeout | undefined;
  private lastFailure: string | undefined;

  constructor(private readonly options: HubRegistryOptions) {}

  start(): void {
    if (!this.options.directory || this.timer) return;
    void this.heartbeat();
    this.timer = setInterval(() => void this.heartbeat(), this.options.intervalMs);
    this.timer.unref();
  }

  async heartbeat(): Promise<void> {
    const { directory, self, intervalMs, log } = this.options;
    if (!directory) return;
    try {
      await directory.announce(self(), intervalMs * 3);
      this.lastFailure = undefined;
    } catch (err) {
      const message = errorMessage(err);
      if (message !== this.lastFailure) log.warn(`could not announce this hub: ${message}`);
      this.lastFailure = message;
    }
  }

  /** The live hubs; with the directory unreachable, this hub alone (it is degraded and says why). */
  async list(): Promise<HubView[]> {
    const me = this.options.self();
    if (!this.options.directory) return [me];
    const others = await this.options.directory.live().catch(() => []);
    return [me, ...others.filter((h) => h.id !== me.id).sort((a, b) => a.id.localeCompare(b.id))];
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.options.directory?.withdraw(this.options.self().id).catch(() => undefined);
  }
}
