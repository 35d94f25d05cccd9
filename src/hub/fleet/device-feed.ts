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

  changed(deviceId: string, type: ChangeType, aspect: ChangeAspect): void {
    this.emitter.emit('change', deviceId, type, aspect);
  }

  subscribe(listener: (deviceId: string, type: ChangeType, aspect: ChangeAspect) => void): () => void {
    this.emitter.on('change', listener);
    return () => this.emitter.off('change', listener);
  }
}
