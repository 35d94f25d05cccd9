/**
 * Group commit for one in-memory document that is written whole.
 *
 * Every change to the document takes the next sequence number; a commit snapshots the document
 * (synchronously, so the snapshot holds exactly the changes numbered up to then) and writes it
 * durably; when that write is done, every caller whose change is in the snapshot is answered.
 * Changes made while a commit is in flight are written together by the next one, and a caller
 * is never answered before the commit that holds its change is durable.
 *
 * Pacing: when commits run back to back (a storm), the next one starts no sooner than
 * `minIntervalMs` after the previous one started, and serializing may take at most
 * `dutyCycle` of the time (a 10 ms snapshot with 0.25 → every 40 ms), so a registration storm
 * over a large document costs a bounded number of writes per second. A change that arrives
 * while nothing is being written is committed at once: a lone writer pays one durable write.
 */
export interface CommitTarget<T = string> {
  /** The document as it is now; called synchronously at the start of a commit. */
  snapshot(): T;
  /** Writes a snapshot durably (temp file, fsync, rename, fsync of the folder). */
  persist(contents: T): Promise<void>;
}

export interface GroupCommitOptions {
  minIntervalMs?: number;
  dutyCycle?: number;
  /** Milliseconds, monotonic enough for pacing; injected by tests. */
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

interface Waiter {
  seq: number;
  resolve(): void;
  reject(err: unknown): void;
}

export class GroupCommit<T = string> {
  private changed = 0;
  private durable = 0;
  private waiters: Waiter[] = [];
  private running: Promise<void> | undefined;
  private lastStart = -Infinity;
  private lastSnapshotMs = 0;
  private readonly minIntervalMs: number;
  private readonly dutyCycle: number;
  private readonly clock: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Commits written so far (for tests and stats). */
  commits = 0;

  constructor(
    private readonly target: CommitTarget<T>,
    options: GroupCommitOptions = {},
  ) {
    this.minIntervalMs = options.minIntervalMs ?? 0;
    this.dutyCycle = options.dutyCycle ?? 1;
    this.clock = options.clock ?? (() => performance.now());
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** Notes a change to the document that nobody waits for yet (a lazy write). */
  changedLazily(): void {
    this.changed += 1;
  }

  /** Notes a change; resolves once a commit that holds it is durable. */
  commit(): Promise<void> {
    this.changed += 1;
    return this.settled();
  }

  /**
   * Resolves once every change made so far is durable: at once if nothing is pending. An answer
   * computed from the document in memory (an apply that changed nothing) waits for this, so it
   * never reports a state that a crash could still take back.
   */
  settled(): Promise<void> {
    const seq = this.changed;
    if (seq <= this.durable) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ seq, resolve, reject });
      if (this.running) return;
      const run = this.run();
      // run() resets `running` when its loop ends; one that ended before returning (its snapshot
      // threw) has nobody left waiting and must not be kept as running.
      if (this.waiters.length > 0) this.running = run;
    });
  }

  /** Resolves when no commit is running. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /**
   * Commits until nobody waits. The loop's last check and the reset of `running` happen in one
   * step: a caller answered by the last commit changes the document again in its continuation,
   * which runs before any cleanup chained onto this promise would (`.finally`), so with one its
   * change found a commit still "running", started none, and waited for ever (a placement pass
   * stuck on its documents' commit, the hub idle, at 20,000 devices).
   */
  private async run(): Promise<void> {
    let busy = false;
    // The loop is this function's own (no await between its last check and the reset below).
    try {
      while (this.waiters.length > 0) {
        // Back to back only when changes arrived during the previous commit: pace those.
        const interval = Math.max(busy ? this.minIntervalMs : 0, this.lastSnapshotMs / this.dutyCycle);
        const wait = this.lastStart + interval - this.clock();
        if (wait > 0) await this.sleep(wait);
        const upTo = this.changed;
        this.lastStart = this.clock();
        let failure: unknown;
        try {
          const contents = this.target.snapshot();
          this.lastSnapshotMs = this.clock() - this.lastStart;
          await this.target.persist(contents);
          this.commits += 1;
          this.durable = Math.max(this.durable, upTo);
        } catch (err) {
          failure = err ?? new Error('commit failed');
        }
        // Changes after the snapshot stay waiting for the next commit. After a failure, the
        // changes stay in the document and a later commit may still write them; their callers
        // were told it failed (as after any error, the client cannot know which way it went).
        const served = this.waiters.filter((w) => w.seq <= upTo);
        this.waiters = this.waiters.filter((w) => w.seq > upTo);
        for (const w of served) {
          if (failure === undefined) w.resolve();
          else w.reject(failure);
        }
        busy = true;
      }
    } finally {
      this.running = undefined;
    }
  }
}
