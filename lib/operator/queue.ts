/**
 * A rate-limited work queue in the shape of client-go's workqueue: a key is
 * queued at most once (adding a queued key is a no-op), a key being processed
 * is never handed to a second worker (adding it meanwhile queues it again for
 * when the first is done), and failures are retried with a per-key
 * exponential delay that `forget` resets.
 * @internal
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;

  /**
   * @param baseDelayMs first retry delay of a failing key (doubles per failure)
   * @param maxDelayMs the longest retry delay
   */
  constructor(private readonly baseDelayMs = 200, private readonly maxDelayMs = 60_000) {}

  /** Queues `key` now (unless it is queued already). */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // done() queues it
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
    } else {
      this.queue.push(key);
    }
  }

  /** Queues `key` after `ms` (an earlier pending delay for it wins). */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    if (this.timers.has(key)) return;
    const t = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    t.unref?.();
    this.timers.set(key, t);
  }

  /** Queues `key` after its next back-off delay (for a failed attempt). */
  addRateLimited(key: string): void {
    this.addAfter(key, this.when(key));
  }

  /** The back-off delay of the next retry of `key`, counting this failure. */
  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** n);
  }

  /** Failures of `key` since its last `forget`. */
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** `key` succeeded: its back-off starts over. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** The next key to process (waits for one); undefined once shut down. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise(resolve => this.waiters.push(resolve));
  }

  /** Processing `key` is over; if it was added meanwhile it is queued again. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
  }

  /** Keys waiting (not counting those in process or delayed). */
  get length(): number {
    return this.queue.length;
  }

  /** Stops handing out keys: waiting `get`s resolve undefined, delayed adds are dropped. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.queue.length = 0;
    this.dirty.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }
}
