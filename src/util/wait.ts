// Sleeping and waiting on a condition: the one place both are written. Prefer waitFor over a
// fixed sleep wherever there is something to wait for.

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface WaitOptions {
  /** give up after this long (default 10 s) */
  timeoutMs?: number;
  /** time between two checks (default 50 ms) */
  intervalMs?: number;
  /** what is awaited, for the timeout's message */
  what?: string;
}

export class WaitTimeout extends Error {
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
    readonly last: unknown,
  ) {
    super(`timed out after ${timeoutMs} ms waiting for ${what}`);
    this.name = 'WaitTimeout';
  }
}

/**
 * Calls `check` until it returns something other than undefined, false or null, and returns
 * that. A check that throws counts as not yet; on timeout the last error (if any) is the cause.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  opts: WaitOptions = {},
): Promise<Exclude<T, undefined | false | null>> {
  const timeoutMs = opts.timeoutMs ?? 10000;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false && v !== null) return v as Exclude<T, undefined | false | null>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const e = new WaitTimeout(opts.what ?? 'a condition', timeoutMs, last);
      if (last instanceof Error) e.cause = last;
      throw e;
    }
    await sleep(Math.min(opts.intervalMs ?? 50, Math.max(1, deadline - Date.now())));
  }
}
