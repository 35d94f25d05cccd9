import { EventEmitter } from 'node:events';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** Change notifications for watchers (`get devices --watch`); one instance per hub. */
export class DeviceFeed {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  changed(deviceId: string, type: ChangeType): void {
    this.emitter.emit('change', deviceId, type);
  }

  subscribe(listener: (deviceId: string, type: ChangeType) => void): () => void {
    this.emitter.on('change', listener);
    return () => this.emitter.off('change', listener);
  }
}
