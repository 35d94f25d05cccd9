// Whether the retained messages the hubs keep in Redis are still there (issue 15). Redis is run
// as a cache here (`--save ""` in the tests, and many deployments run it so): restarted, or
// flushed, it comes back empty, and every device's retained desired and services documents are
// gone. A device that then connects (or an agent restarted without its kept state) got nothing
// until the next change for it, which may be never. aedes-persistence-redis cannot tell "no
// retained message for this topic" from "Redis lost them all"; a key of ours beside them can:
// the leader writes it before it publishes what the store holds, so a missing key means that
// whatever the leader published before it is gone too, and it publishes the stored ones again.
import type { Logger } from '../../common/log.js';
import { errorMessage } from '../../common/errors.js';

/** The key, with the aedes persistence's keys in the same Redis database. */
export const RETAINED_MARKER_KEY = 'edgepilot:retained-marker';

/** The two commands the marker needs (an ioredis connection has them). */
export interface MarkerConnection {
  exists(key: string): Promise<number>;
  set(key: string, value: string): Promise<unknown>;
}

/** What LeaderControllers asks (wiring/controllers.ts); a fake in unit tests. */
export interface RetainedMarker {
  /** Whether the marker is gone: Redis lost its data since it was written (rejects when Redis does not answer). */
  lost(): Promise<boolean>;
  /** Writes the marker; called before publishing what the store holds, never after (see above). */
  mark(): Promise<void>;
}

export function redisRetainedMarker(conn: MarkerConnection, hubId: string, log: Logger): RetainedMarker {
  return {
    lost: async () => (await conn.exists(RETAINED_MARKER_KEY)) === 0,
    async mark() {
      // Its value is for a person reading Redis; only its presence counts.
      await conn.set(RETAINED_MARKER_KEY, JSON.stringify({ by: hubId, at: new Date().toISOString() }));
      log.debug(`retained marker written by ${hubId}`);
    },
  };
}

export interface RetainedWatchDeps {
  marker: RetainedMarker;
  /**
   * Publishes every retained document the store holds, through the leader's running controllers
   * (so fenced, and ordered with their passes); false when this hub does not lead (nothing done).
   */
  republish: () => Promise<boolean>;
  log: Logger;
}

/**
 * Checks the marker (the leader, every few seconds and each time Redis is back) and, when it is
 * missing, writes it and has the stored documents published again. A republish that failed (Redis
 * gone again halfway) is owed: the next check does it again whatever the marker says, since the
 * marker was already written before the failure.
 */
export class RetainedWatch {
  private owed = false;
  private checking: Promise<void> | undefined;

  constructor(private readonly deps: RetainedWatchDeps) {}

  /** One check; concurrent calls share it. Never rejects. */
  check(): Promise<void> {
    this.checking ??= this.once().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async once(): Promise<void> {
    const { marker, log } = this.deps;
    try {
      if (!this.owed) {
        if (!(await marker.lost())) return;
        log.warn('the retained messages in Redis are gone (Redis restarted empty or was flushed): publishing the stored desired and services documents again');
      }
      this.owed = true;
      await marker.mark();
      if (!(await this.deps.republish())) return; // not leading: the next leader publishes at its start
      this.owed = false;
      log.info('stored desired and services documents published again after Redis lost them');
    } catch (err) {
      log.warn(`checking or restoring the retained messages in Redis: ${errorMessage(err)} (tried again at the next check)`);
    }
  }
}
