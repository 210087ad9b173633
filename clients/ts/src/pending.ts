import { TimeoutError } from "./errors.js";

/** A request waiting for its reply. */
export interface Pending {
  /** Its message id. */
  readonly id: number;
  /** Its seq (unique among the waiting requests; the reply echoes it). */
  readonly seq: number;
  /** The encoded frame, sent again as is after a reconnect. */
  readonly message: Uint8Array | string;
  /** Whether it went out on the current connection. */
  sent: boolean;
  resolve(body: unknown): void;
  reject(error: Error): void;
}

interface Entry extends Pending {
  timer: ReturnType<typeof setTimeout>;
}

/** The requests waiting for their replies, by seq, each rejected with a `TimeoutError` when its time is up. */
export class PendingRequests {
  private lastSeq = 0;
  private readonly waiting = new Map<number, Entry>();

  constructor(private readonly timeoutMs: number) {}

  /** Adds request `id` with the next seq; `encode` makes its frame for that seq. */
  add(
    id: number,
    encode: (seq: number) => Uint8Array | string,
    resolve: (body: unknown) => void,
    reject: (error: Error) => void,
  ): Pending {
    // A u32 counter that never gives 0 (the seq of pushes).
    const seq = (this.lastSeq = this.lastSeq >= 0xffff_ffff ? 1 : this.lastSeq + 1);
    const message = encode(seq);
    const timer = setTimeout(() => this.fail(seq, new TimeoutError(id, this.timeoutMs)), this.timeoutMs);
    const entry: Entry = { id, seq, message, sent: false, resolve, reject, timer };
    this.waiting.set(seq, entry);
    return entry;
  }

  /** Removes and returns the request a reply with `seq` and `id` answers (none: it timed out, or was failed). */
  take(seq: number, id: number): Pending | undefined {
    const entry = this.waiting.get(seq);
    if (!entry || entry.id !== id) return undefined;
    this.waiting.delete(seq);
    clearTimeout(entry.timer);
    return entry;
  }

  /** Removes request `seq` and rejects it with `error`. */
  fail(seq: number, error: Error): void {
    const entry = this.waiting.get(seq);
    if (!entry) return;
    this.waiting.delete(seq);
    clearTimeout(entry.timer);
    entry.reject(error);
  }

  /** The waiting requests, oldest first. */
  list(): Pending[] {
    return [...this.waiting.values()];
  }
}
