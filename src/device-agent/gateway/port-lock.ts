/**
 * The agent's serial port lock, shared by flashing and by Jobs that claim a port (issue 9: "they share
 * the port lock"). A flash on an MCU's port waits while a Job that claims that port (or that MCU) runs,
 * and a Job's attempt waits while a flash is on the port. Keys are canonical paths (symlinks resolved:
 * `/dev/serial/by-id/…`, a bench's `tty-stm` and the `/dev/pts/N` behind it are one port).
 *
 * The queue is pure ({@link grantable}); {@link PortLocks} is the thin shell with promises, abort
 * signals and the "who holds it" view for events. FIFO per port: a request never overtakes an earlier
 * one that wants any of the same ports, so a stream of Jobs cannot starve a flash (nor the reverse).
 * A request for several ports is granted all at once or not at all, so two holders never deadlock.
 */

export interface PortHolder {
  readonly kind: 'flash' | 'job';
  /** What users recognise: `mcu stm32f103-…`, `job nightly-dump`, `cronjob read-meter`. */
  readonly name: string;
}

export interface LockRequest {
  readonly id: number;
  /** Canonical paths, at least one. */
  readonly paths: readonly string[];
  readonly holder: PortHolder;
}

export interface PortLockState {
  /** Port → the granted request holding it. */
  readonly held: ReadonlyMap<string, LockRequest>;
  /** Requests in arrival order. */
  readonly waiting: readonly LockRequest[];
}

/**
 * The waiting requests that may be granted now, in order: every port they want is free and no earlier
 * waiting request wants any of them.
 */
export function grantable(state: PortLockState): LockRequest[] {
  const wantedEarlier = new Set<string>();
  const granted: LockRequest[] = [];
  for (const request of state.waiting) {
    const free = request.paths.every((p) => !state.held.has(p) && !wantedEarlier.has(p));
    if (free) granted.push(request);
    for (const p of request.paths) wantedEarlier.add(p);
  }
  return granted;
}

/** Who holds the ports a request wants (distinct holders, in port order): what a waiter tells the user. */
export function blockers(state: PortLockState, paths: readonly string[]): PortHolder[] {
  const out: PortHolder[] = [];
  const seen = new Set<number>();
  for (const p of paths) {
    const holder = state.held.get(p);
    if (holder && !seen.has(holder.id)) {
      seen.add(holder.id);
      out.push(holder.holder);
    }
  }
  return out;
}

export interface PortLease {
  readonly paths: readonly string[];
  /** Idempotent. */
  release(): void;
}

export interface AcquireOptions {
  readonly signal?: AbortSignal;
  /** Called once, before waiting, when another holder has the port (not called when granted at once). */
  readonly onWait?: (holders: PortHolder[]) => void;
}

export class PortLockAbortedError extends Error {
  readonly code = 'port-lock-aborted';
  constructor(paths: readonly string[]) {
    super(`gave up waiting for ${paths.join(', ')}`);
  }
}

export interface PortHolding {
  readonly path: string;
  readonly holder: PortHolder;
  readonly waiting: readonly PortHolder[];
}

export class PortLocks {
  private readonly held = new Map<string, LockRequest>();
  private waiting: LockRequest[] = [];
  private readonly grants = new Map<number, () => void>();
  private nextId = 1;

  /** `canonical` resolves a path to the port it names (realpath); it must not throw. */
  constructor(private readonly canonical: (path: string) => Promise<string>) {}

  /** Resolves when every port in `paths` is this caller's; rejects with PortLockAbortedError if `signal` aborts first. */
  async acquire(paths: readonly string[], holder: PortHolder, options: AcquireOptions = {}): Promise<PortLease> {
    const canonical = [...new Set(await Promise.all(paths.map((p) => this.canonical(p))))].sort();
    const request: LockRequest = { id: this.nextId++, paths: canonical, holder };
    if (options.signal?.aborted) throw new PortLockAbortedError(canonical);
    const granted = new Promise<void>((resolve) => this.grants.set(request.id, resolve));
    this.waiting.push(request);
    this.grant();
    const lease: PortLease = { paths: canonical, release: () => this.release(request) };
    if (!this.isHolding(request)) {
      options.onWait?.(blockers(this.state(), canonical));
      const signal = options.signal;
      if (signal) {
        const aborted = new Promise<'aborted'>((resolve) => signal.addEventListener('abort', () => resolve('aborted'), { once: true }));
        if ((await Promise.race([granted, aborted])) === 'aborted' && !this.isHolding(request)) {
          this.release(request);
          throw new PortLockAbortedError(canonical);
        }
      } else {
        await granted;
      }
    }
    return lease;
  }

  /** Every held port with its holder and who waits for it: for status and events. */
  holdings(): PortHolding[] {
    return [...this.held.entries()].map(([path, request]) => ({
      path,
      holder: request.holder,
      waiting: this.waiting.filter((w) => w.paths.includes(path)).map((w) => w.holder),
    }));
  }

  private state(): PortLockState {
    return { held: this.held, waiting: this.waiting };
  }

  private isHolding(request: LockRequest): boolean {
    return request.paths.every((p) => this.held.get(p) === request);
  }

  private release(request: LockRequest): void {
    this.waiting = this.waiting.filter((w) => w !== request);
    for (const p of request.paths) if (this.held.get(p) === request) this.held.delete(p);
    this.grants.delete(request.id);
    this.grant();
  }

  private grant(): void {
    for (const request of grantable(this.state())) {
      this.waiting = this.waiting.filter((w) => w !== request);
      for (const p of request.paths) this.held.set(p, request);
      this.grants.get(request.id)?.();
      this.grants.delete(request.id);
    }
  }
}

/** How a holder is named in events: `the flash of mcu X`, `job Y`. */
export function describeHolders(holders: readonly PortHolder[]): string {
  return holders.map((h) => (h.kind === 'flash' ? `the flash of ${h.name}` : h.name)).join(', ') || 'another holder';
}
