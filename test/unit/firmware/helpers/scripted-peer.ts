/**
 * A scripted peer for byte-exact protocol tests: a list of steps, each either
 * bytes the peer must receive next or bytes it sends. Anything else is recorded
 * as a failure (first one wins) and the peer goes silent, so the client under
 * test times out and the test reports what was wrong.
 */
import type { ByteLink } from '../../../../src/firmware/link/byte-link.js';
import { hex } from './auto-clock.js';

export type Step = { readonly expect: readonly number[]; readonly note?: string } | { readonly send: readonly number[] };

export class ScriptedPeer {
  failure: string | undefined;
  readonly #link: ByteLink;
  readonly #steps: Step[];
  #step = 0;
  #offset = 0;
  #received = 0;

  constructor(link: ByteLink, steps: Step[]) {
    this.#link = link;
    this.#steps = steps;
    link.onData((bytes) => this.#onData(bytes));
    this.#runSends();
  }

  /** True when every step ran and nothing unexpected arrived. */
  get done(): boolean {
    return this.failure === undefined && this.#step >= this.#steps.length;
  }

  /** Why the script is not complete, for assertion messages. */
  describe(): string {
    if (this.failure !== undefined) return this.failure;
    const step = this.#steps[this.#step];
    if (step === undefined) return 'script complete';
    return 'expect' in step ? `waiting at step ${this.#step} for ${hex(step.expect.slice(this.#offset))}` : `stuck at send step ${this.#step}`;
  }

  #onData(bytes: Uint8Array): void {
    for (const b of bytes) {
      this.#received++;
      if (this.failure !== undefined) return;
      const step = this.#steps[this.#step];
      if (step === undefined || !('expect' in step)) {
        this.failure = `unexpected byte 0x${hex([b])} (#${this.#received}) after the script ended`;
        return;
      }
      const want = step.expect[this.#offset];
      if (want !== b) {
        this.failure = `step ${this.#step}${step.note ? ` (${step.note})` : ''}: byte ${this.#offset} is 0x${hex([b])}, expected 0x${hex([want ?? 0])}`;
        return;
      }
      this.#offset++;
      if (this.#offset === step.expect.length) {
        this.#step++;
        this.#offset = 0;
        this.#runSends();
      }
    }
  }

  #runSends(): void {
    for (let step = this.#steps[this.#step]; step !== undefined && 'send' in step; step = this.#steps[this.#step]) {
      this.#step++;
      void this.#link.write(Uint8Array.from(step.send));
    }
  }
}
