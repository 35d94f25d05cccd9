import type { Logger } from '../../common/log.js';
import type { InboundGate } from '../mqtt/hub-link.js';
import { eventSubjects } from '../store/records.js';
import type { EventRepository } from '../store/repository.js';
import type { DeviceMessageThrottle } from './device-message-throttle.js';
import { errorMessage } from '../../common/errors.js';

/**
 * The hub link's gate: a device over its message rate loses its excess messages, and its event
 * history gets one `MessagesThrottled` warning per notice interval saying so (not one per drop).
 */
export function deviceMessageGate(deps: { throttle: DeviceMessageThrottle; events: EventRepository; now: () => Date; log: Logger }): InboundGate {
  return {
    admit(deviceId, channel) {
      const verdict = deps.throttle.check(deviceId, channel);
      if (verdict.admit || !verdict.notice) return verdict;
      const { channel: what, dropped, rate } = verdict.notice;
      const message =
        `${deviceId} sent ${what} faster than ${rate.perSecond}/s (bursts of ${rate.capacity}); ${dropped} message(s) dropped since the last notice, ` +
        `and more are dropped until it slows down${what === 'reported' ? ' (its newest reported state is taken when the rate allows)' : ''}`;
      deps.log.warn(message);
      deps.events
        .append(eventSubjects.device(deviceId), { time: deps.now().toISOString(), type: 'Warning', reason: 'MessagesThrottled', message })
        .catch((err: unknown) => deps.log.error(`recording the throttle event of ${deviceId}: ${errorMessage(err)}`));
      return verdict;
    },
  };
}
