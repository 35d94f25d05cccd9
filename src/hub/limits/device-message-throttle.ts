import type { Clock } from '../../firmware/index.js';
import { KeyedLimiter } from './keyed-limiter.js';
import type { BucketRate } from './token-bucket.js';

/** The device channels the hub throttles, and how fast each may go. */
export interface DeviceMessageLimits {
  readonly events: BucketRate;
  readonly reported: BucketRate;
  /** At most one "throttled" event per device per this many ms. */
  readonly noticeEveryMs: number;
}

/**
 * Generous enough for a busy agent (parallel starts report each instance as it runs, a crash
 * loop emits an event per restart), far below what one device can push to starve the others.
 */
export const defaultDeviceMessageLimits: DeviceMessageLimits = {
  events: { perSecond: 20, capacity: 200 },
  reported: { perSecond: 10, capacity: 100 },
  noticeEveryMs: 60_000,
};

export type ThrottledChannel = 'events' | 'reported';

export type ThrottleVerdict =
  | { readonly admit: true }
  /** `notice`: this drop opens a new notice interval; say so once, with the drops since the last notice. */
  | {
      readonly admit: false;
      /** When the next message on this channel would be taken. */
      readonly retryAfterMs: number;
      readonly notice?: { readonly channel: ThrottledChannel; readonly dropped: number; readonly rate: BucketRate };
    };

/**
 * Per-device, per-channel message rate limits at the hub. A device over its rate has its excess
 * messages dropped before they are decoded; the others are not slowed (each has its own bucket).
 */
export class DeviceMessageThrottle {
  private readonly limiters: Record<ThrottledChannel, KeyedLimiter>;
  private readonly notices = new Map<string, { at: number; dropped: number }>();

  constructor(
    private readonly limits: DeviceMessageLimits,
    private readonly clock: Pick<Clock, 'now'>,
  ) {
    this.limiters = { events: new KeyedLimiter(limits.events, clock), reported: new KeyedLimiter(limits.reported, clock) };
  }

  check(deviceId: string, channel: string): ThrottleVerdict {
    if (channel !== 'events' && channel !== 'reported') return { admit: true };
    const admission = this.limiters[channel].admit(deviceId);
    if (admission.ok) return { admit: true };
    const { retryAfterMs } = admission;
    const now = this.clock.now();
    const last = this.notices.get(deviceId);
    if (last && now - last.at < this.limits.noticeEveryMs) {
      last.dropped += 1;
      return { admit: false, retryAfterMs };
    }
    const dropped = (last?.dropped ?? 0) + 1;
    this.notices.set(deviceId, { at: now, dropped: 0 });
    this.forgetOldNotices(now);
    return { admit: false, retryAfterMs, notice: { channel, dropped, rate: this.limits[channel] } };
  }

  private forgetOldNotices(now: number): void {
    if (this.notices.size < 1024) return;
    for (const [id, notice] of this.notices) if (now - notice.at >= this.limits.noticeEveryMs && notice.dropped === 0) this.notices.delete(id);
  }
}
