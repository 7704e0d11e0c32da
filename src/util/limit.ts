// A bound on how many tasks run at once, shared by whoever holds the limiter (e.g. every CNI
// call of a simulation, whichever worker or batch of pods it is for).

export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {}

  /** Runs `task` once fewer than `limit` tasks are running. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      // hand the slot straight to the next waiter (no one can slip in between)
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }

  /** Runs `task` for each item through the limiter; rejects with the first error after all settle. */
  async each<T>(items: T[], task: (item: T) => Promise<void>): Promise<void> {
    const results = await Promise.allSettled(items.map((item) => this.run(() => task(item))));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
