// How the leader learns of what happened at other hubs (issue 15). Every hub serves the API and
// ingests the reports of the devices on its own broker, but only the leader runs the controllers:
// a write through hub B, or a report that reached hub C, must wake the leader's passes. Each hub
// publishes its own changes on one Redis channel and feeds the others' into its local DeviceFeed
// (watchers and the dashboard on any hub then see the whole fleet). The leader also runs a slow
// periodic pass (wiring/controllers.ts), so a notice lost in a Redis blip is picked up anyway.
import type { Redis } from 'ioredis';
import * as z from 'zod';
import { DEVICE_ID_PATTERN, decodePayload } from '../../protocol/index.js';
import type { Logger } from '../../common/log.js';
import type { ChangeAspect, ChangeType, DeviceFeed } from '../fleet/device-feed.js';
import { errorMessage } from '../../common/errors.js';

const CHANNEL = 'edgepilot:changes';
/** Reports arrive by the thousand in a storm: one message per this many milliseconds at most. */
const BATCH_MS = 50;

const noticeSchema = z.object({
  from: z.string().max(63),
  /** An API write that controllers must see (apply, delete, label, a rollout command, …). */
  written: z.boolean(),
  devices: z
    .array(
      z.tuple([
        z.string().regex(DEVICE_ID_PATTERN),
        z.enum(['ADDED', 'MODIFIED', 'DELETED']),
        z.enum(['registration', 'status', 'facts', 'labels', 'reported']),
      ]),
    )
    .max(10_000),
});
type Notice = z.infer<typeof noticeSchema>;

/** The two Redis sides of the channel; a subscribed ioredis connection can do nothing else. */
export interface NoticeLinks {
  publisher: Pick<Redis, 'publish'>;
  subscriber: Pick<Redis, 'subscribe' | 'on' | 'unsubscribe'>;
}

export interface ChangeNoticesOptions {
  hubId: string;
  links: NoticeLinks;
  feed: DeviceFeed;
  /** Another hub took an API write. */
  written: () => void;
  /**
   * A device was deleted through another hub: its MQTT session may be on this hub's broker, which
   * ends it (the agent then finds its credentials refused), as the deleting hub does with its own.
   */
  deletedElsewhere?: (deviceId: string) => void;
  log: Logger;
}

export class ChangeNotices {
  private pending: Notice | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Set while another hub's changes are fed in, so they are not sent back out. */
  private relaying = false;
  private readonly stopFeed: () => void;

  constructor(private readonly options: ChangeNoticesOptions) {
    this.stopFeed = options.feed.subscribe((id, type, aspect) => {
      if (!this.relaying) this.add(id, type, aspect);
    });
    options.links.subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      if (channel.toString() === CHANNEL) this.receive(message);
    });
  }

  async start(): Promise<void> {
    await this.options.links.subscriber.subscribe(CHANNEL);
  }

  /** This hub took an API write; the leader (maybe this hub) must see it. */
  written(): void {
    this.pendingNotice().written = true;
    this.schedule();
  }

  private add(id: string, type: ChangeType, aspect: ChangeAspect): void {
    this.pendingNotice().devices.push([id, type, aspect]);
    this.schedule();
  }

  private pendingNotice(): Notice {
    return (this.pending ??= { from: this.options.hubId, written: false, devices: [] });
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => void this.flush(), BATCH_MS);
  }

  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const notice = this.pending;
    this.pending = undefined;
    if (!notice) return;
    await this.options.links.publisher.publish(CHANNEL, JSON.stringify(notice)).catch((err: unknown) => {
      this.options.log.warn(`change notice not sent (the leader's periodic pass will see it): ${errorMessage(err)}`);
    });
  }

  private receive(message: Buffer): void {
    const decoded = decodePayload(noticeSchema, message, 2 * 1024 * 1024);
    if (!decoded.ok) {
      this.options.log.warn(`malformed change notice ignored: ${decoded.error}`);
      return;
    }
    const notice = decoded.value;
    if (notice.from === this.options.hubId) return;
    this.relaying = true;
    try {
      for (const [id, type, aspect] of notice.devices) this.options.feed.changed(id, type, aspect);
    } finally {
      this.relaying = false;
    }
    for (const [id, type, aspect] of notice.devices) if (type === 'DELETED' && aspect === 'registration') this.options.deletedElsewhere?.(id);
    if (notice.written) this.options.written();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.stopFeed();
    void this.options.links.subscriber.unsubscribe(CHANNEL).catch(() => undefined);
  }
}
