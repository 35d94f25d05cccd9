// Publishing the desired documents a pass stored, and remembering those it could not publish.
import type { Logger } from '../../common/log.js';
import { topics, type DesiredState } from '../../protocol/index.js';

/** Desired documents in flight to the broker at once. */
const PUBLISH_WINDOW = 256;

type Documents = readonly (readonly [string, Readonly<DesiredState>])[];

export class DesiredPublisher {
  /**
   * Devices whose new document was stored and is not yet known to be published: a pass that
   * failed between the two (the store answered for some devices and not for others, Services
   * failed, the broker refused) left them on their old one, and the next pass, comparing with
   * what is stored, took the document as sent. Each pass sends their stored document again.
   */
  private readonly unpublished = new Set<string>();

  constructor(
    private readonly publish: (topic: string, payload: unknown, retain: boolean) => Promise<void>,
    private readonly log: Logger,
  ) {}

  /** Called before a pass stores `next`: until published, they count as not sent. */
  storing(next: Documents): void {
    for (const [deviceId] of next) this.unpublished.add(deviceId);
  }

  /** These devices were deleted: nothing more is sent to them. */
  gone(deviceIds: readonly string[]): void {
    for (const id of deviceIds) this.unpublished.delete(id);
  }

  /** Publishes `next`, and the documents earlier passes stored and did not publish (from `stored`). */
  async send(next: Documents, stored: ReadonlyMap<string, Readonly<DesiredState>>): Promise<void> {
    await this.pipelined([...next, ...this.storedNotSent(stored, next)]);
  }

  /** The stored documents an earlier pass stored and did not publish, unless `next` replaces them. */
  private storedNotSent(stored: ReadonlyMap<string, Readonly<DesiredState>>, next: Documents): [string, Readonly<DesiredState>][] {
    if (this.unpublished.size === 0) return [];
    const replaced = new Set(next.map(([deviceId]) => deviceId));
    const again: [string, Readonly<DesiredState>][] = [];
    for (const deviceId of this.unpublished) {
      if (replaced.has(deviceId)) continue;
      const desired = stored.get(deviceId);
      if (desired) again.push([deviceId, desired]);
      else this.unpublished.delete(deviceId); // the device is gone
    }
    if (again.length > 0) this.log.warn(`publishing ${again.length} stored desired document(s) an earlier pass did not publish`);
    return again;
  }

  /**
   * Publishes documents retained, pipelined: one at a time, a 20,000-device apply waited for
   * 20,000 broker round trips in a row. Each device's document is independent; a bounded window
   * keeps the broker's queue in check.
   */
  private async pipelined(documents: Documents): Promise<void> {
    let nextIndex = 0;
    const lane = async (): Promise<void> => {
      while (nextIndex < documents.length) {
        const entry = documents[nextIndex++];
        if (!entry) return;
        const [deviceId, desired] = entry;
        await this.publish(topics.desired(deviceId), desired, true);
        this.unpublished.delete(deviceId);
        this.log.info(`device ${deviceId}: desired generation ${desired.generation} (${desired.instances.length} instances)`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PUBLISH_WINDOW, documents.length) }, lane));
  }
}
