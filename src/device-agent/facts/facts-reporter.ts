import type { Logger } from '../../common/log.js';
import type { Facts } from '../../protocol/index.js';
import type { DeviceSession } from '../session/device-session.js';
import { factsFingerprint } from './collect-facts.js';
import { errorMessage } from '../../common/errors.js';

/**
 * Publishes facts retained on connect and again only when they changed (checked every
 * `intervalMs`), not on a fast timer: 10,000 devices re-sending 2 KB every 10 s is 2 MB/s of
 * nothing.
 */
export class FactsReporter {
  private current: Facts;
  private fingerprint: string;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    initial: Facts,
    private readonly session: DeviceSession,
    private readonly collect: () => Promise<Facts>,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {
    this.current = initial;
    this.fingerprint = factsFingerprint(initial);
  }

  get facts(): Facts {
    return this.current;
  }

  start(): void {
    this.session.on('connected', () => void this.publish());
    this.timer = setInterval(() => void this.refresh(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Collect now and publish if anything that matters changed (also used when an MCU appears). */
  async refresh(): Promise<void> {
    try {
      const next = await this.collect();
      const fingerprint = factsFingerprint(next);
      this.current = next;
      if (fingerprint === this.fingerprint) return;
      this.fingerprint = fingerprint;
      this.log.info('facts changed; publishing');
      await this.publish();
    } catch (err) {
      this.log.warn(`collecting facts failed: ${errorMessage(err)}`);
    }
  }

  private async publish(): Promise<void> {
    await this.session.publishState('facts', this.current, true).catch((err: unknown) => this.log.warn(`publishing facts: ${errorMessage(err)}`));
  }
}
