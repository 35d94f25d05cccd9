import type { Leadership } from '../../src/hub/leadership/leadership.js';

/** A lease that flips when the test says so; each time it is won, the term grows by one. */
export class FlippingLeadership implements Leadership {
  leading = false;
  term: bigint | undefined;
  private readonly listeners = new Set<(leading: boolean) => void>();
  onChange(listener: (leading: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  flip(leading: boolean): void {
    this.leading = leading;
    this.term = leading ? (this.term ?? 0n) + 1n : undefined;
    for (const listener of this.listeners) listener(leading);
  }
  async stop(): Promise<void> {}
}
