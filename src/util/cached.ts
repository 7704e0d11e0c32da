// A value read at most once per `maxAgeMs`: the web view and a Prometheus scrape arriving in
// the same moment read the kernel (or vtysh, or etcd) once.
export class Cached<T> {
  private at = 0;
  private value?: Promise<T>;
  constructor(
    private readonly maxAgeMs: number,
    private readonly load: () => Promise<T>,
  ) {}

  get(): Promise<T> {
    if (!this.value || performance.now() - this.at > this.maxAgeMs) {
      this.at = performance.now();
      this.value = this.load();
      this.value.catch(() => {
        this.value = undefined;
      });
    }
    return this.value;
  }

  /** The next get() reads again (the state just changed). */
  invalidate(): void {
    this.value = undefined;
  }
}
