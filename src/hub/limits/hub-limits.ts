import { defaultDeviceMessageLimits, type DeviceMessageLimits } from './device-message-throttle.js';
import type { BucketRate } from './token-bucket.js';

/** Connection-rate limits of the join path (HTTP bootstrap and MQTT join sessions, each its own). */
export interface JoinRateLimits {
  readonly perSource: BucketRate;
  readonly global: BucketRate;
}

export interface HubLimits {
  readonly deviceMessages: DeviceMessageLimits;
  /** Absent: the join path is not limited (`--join-rate off`, for benches that storm from one address). */
  readonly join?: JoinRateLimits;
  /**
   * Failed authentications per source address (wrong API tokens; wrong device or join
   * credentials at the embedded broker). Absent: not limited (`--auth-failure-rate off`).
   */
  readonly failedAuth?: BucketRate;
}

/** A burst of ten seconds' worth: a plant's boards behind one NAT all powering up at once still join. */
function rate(perSecond: number): BucketRate {
  return { perSecond, capacity: perSecond * 10 };
}

export const defaultJoinRateLimits: JoinRateLimits = { perSource: rate(20), global: rate(200) };

/**
 * Thirty failures at once (a script with a stale token, a few deleted boards behind one NAT
 * retrying), then one every two seconds: guessing a 256-bit secret was hopeless anyway, this
 * keeps a guesser from filling the hub's log and CPU.
 */
export const defaultFailedAuthRate: BucketRate = { perSecond: 0.5, capacity: 30 };

export const defaultHubLimits: HubLimits = { deviceMessages: defaultDeviceMessageLimits, join: defaultJoinRateLimits, failedAuth: defaultFailedAuthRate };

export class LimitFlagError extends Error {
  readonly code = 'InvalidLimitFlag';
}

/** `--join-rate <per-address>,<global>` in attempts per second, or `off`. */
export function parseJoinRate(text: string): JoinRateLimits | undefined {
  if (text.trim() === 'off') return undefined;
  const parts = text.split(',').map((p) => Number(p.trim()));
  const [perSource, global] = parts;
  if (parts.length !== 2 || perSource === undefined || global === undefined || !(perSource > 0) || !(global > 0) || !Number.isFinite(perSource) || !Number.isFinite(global)) {
    throw new LimitFlagError(`--join-rate must be <per-address>,<global> attempts per second (e.g. 20,200) or off, not "${text}"`);
  }
  return { perSource: rate(perSource), global: rate(global) };
}

/** `--device-message-rate <events>,<reported>` in messages per second per device. */
export function parseDeviceMessageRate(text: string): DeviceMessageLimits {
  const parts = text.split(',').map((p) => Number(p.trim()));
  const [events, reported] = parts;
  if (parts.length !== 2 || events === undefined || reported === undefined || !(events > 0) || !(reported > 0) || !Number.isFinite(events) || !Number.isFinite(reported)) {
    throw new LimitFlagError(`--device-message-rate must be <events>,<reported> messages per second per device (e.g. 20,10), not "${text}"`);
  }
  return { ...defaultDeviceMessageLimits, events: rate(events), reported: rate(reported) };
}

/** `--auth-failure-rate <per-second>,<burst>`: failed authentications allowed per source address, or `off`. */
export function parseFailedAuthRate(text: string): BucketRate | undefined {
  if (text.trim() === 'off') return undefined;
  const parts = text.split(',').map((p) => Number(p.trim()));
  const [perSecond, capacity] = parts;
  if (parts.length !== 2 || perSecond === undefined || capacity === undefined || !(perSecond > 0) || !Number.isFinite(perSecond) || !Number.isInteger(capacity) || capacity < 1) {
    throw new LimitFlagError(`--auth-failure-rate must be <per-second>,<burst> failed logins per source address (e.g. 0.5,30) or off, not "${text}"`);
  }
  return { perSecond, capacity };
}
