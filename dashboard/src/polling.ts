// How pages stay current: the hub's change stream (/v1/changes) says when something of the
// page's kind changed, and the page re-reads it then; a slow timer re-reads as well, in case the
// stream was cut (a hub restart) and is being reopened.
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { followNdjson } from './api.js';

export type ChangeKind = 'devices' | 'workloads' | 'rollouts' | 'jobs';

const FALLBACK_MS = 30_000;
const REOPEN_MS = 2_000;

export class LiveData implements ReactiveController {
  private timer: ReturnType<typeof setInterval> | undefined;
  private reopen: ReturnType<typeof setTimeout> | undefined;
  private stop: (() => void) | undefined;
  private connected = false;

  constructor(
    host: ReactiveControllerHost,
    private readonly kinds: readonly ChangeKind[],
    private readonly load: () => Promise<void>,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    this.connected = true;
    void this.load();
    this.timer = setInterval(() => void this.load(), FALLBACK_MS);
    this.follow();
  }

  hostDisconnected(): void {
    this.connected = false;
    clearInterval(this.timer);
    clearTimeout(this.reopen);
    this.stop?.();
  }

  private follow(): void {
    this.stop = followNdjson<{ kind: ChangeKind }>(`/v1/changes?kinds=${this.kinds.join(',')}`, () => void this.load(), () => {
      if (this.connected) this.reopen = setTimeout(() => this.follow(), REOPEN_MS);
    });
  }
}
