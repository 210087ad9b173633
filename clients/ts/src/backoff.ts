/**
 * Reconnect delays: from `minMs` doubling up to `maxMs`, each with "equal jitter" (a wait between
 * half and all of the delay), so that clients cut off at the same moment do not all come back at
 * the same moment.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
  ) {}

  /** The next wait in ms; the delay after it is twice as long (up to `maxMs`). */
  next(): number {
    const delay = Math.min(this.maxMs, this.minMs * 2 ** this.attempt);
    if (delay < this.maxMs) this.attempt += 1;
    return delay / 2 + Math.random() * (delay / 2);
  }

  /** Back to `minMs` (after a connection that worked). */
  reset(): void {
    this.attempt = 0;
  }
}

/** Resolves after `ms`, or at once when `signal` is aborted. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}
