/** Reconnect delays: doubling from `minMs` to `maxMs`, each jittered down by up to a half ("equal
 * jitter"), so clients cut off at the same moment do not all come back at the same moment. */
export class Backoff {
  private attempt = 0;

  constructor(private readonly minMs: number, private readonly maxMs: number) {}

  /** The next delay in ms (and moves on to a longer one). */
  next(): number {
    const full = Math.min(this.maxMs, this.minMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return full / 2 + Math.random() * (full / 2);
  }

  reset(): void {
    this.attempt = 0;
  }
}
