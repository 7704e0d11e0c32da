// What every verb shares: an error that carries its exit status, and the root check.

/** An error main() reports as `error: <message>` and exits with `code`. */
export class ExitError extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
  }
}

export function requireRoot(): void {
  if (process.getuid?.() !== 0)
    throw new ExitError('netsim needs root (network namespaces): run it with sudo');
}

/** `fn` behind the root check (verbs whose module lives in a feature). */
export function requireRootThen<A extends unknown[]>(
  fn: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return (...args: A) => {
    requireRoot();
    return fn(...args);
  };
}
