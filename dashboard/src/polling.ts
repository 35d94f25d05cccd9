// Pages whose objects have no watch stream yet re-read them every few seconds while shown.
import type { ReactiveController, ReactiveControllerHost } from 'lit';

export class Poll implements ReactiveController {
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    host: ReactiveControllerHost,
    private readonly load: () => Promise<void>,
    private readonly everyMs = 2000,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    void this.load();
    this.timer = setInterval(() => void this.load(), this.everyMs);
  }

  hostDisconnected(): void {
    clearInterval(this.timer);
  }
}
