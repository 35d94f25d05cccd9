import { EventEmitter } from 'node:events';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** What changed, so that a listener can ignore what does not concern it (placement ignores `reported`). */
export type ChangeAspect = 'registration' | 'status' | 'facts' | 'labels' | 'reported';

/** Change notifications for watchers (`get devices --watch`); one instance per hub. */
export class DeviceFeed {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  /**
   * `scheduling`: whether what placement sees of the device may have changed. False for a
   * reconnect's status (online again, still online) and facts equal to the stored ones: after
   * a hub restart, 10,000 of each would otherwise keep the desired pass running through the storm.
   */
  changed(deviceId: string, type: ChangeType, aspect: ChangeAspect, scheduling = true): void {
    this.emitter.emit('change', deviceId, type, aspect, scheduling);
  }

  subscribe(listener: (deviceId: string, type: ChangeType, aspect: ChangeAspect, scheduling: boolean) => void): () => void {
    this.emitter.on('change', listener);
    return () => this.emitter.off('change', listener);
  }
}
