import { ERROR_MESSAGES, ERROR_NAMES, ErrorCode, type ErrorBodies, type ErrorBody } from "./generated/protocol.js";

/** A {@link MatchdayError} whose code is known to be `C`, and so its body's type. */
export type MatchdayErrorOf<C extends keyof ErrorBodies> = MatchdayError & { readonly code: C; readonly body: ErrorBodies[C] };

/**
 * The server answered a request with a non-zero code (docs/protocol.md's table of error codes).
 *
 * `name` is the code's stable name (`"insufficient_balance"`) and `message` the server's `msg`.
 * `body` is the error body; {@link MatchdayError.is} narrows it to the code's own type:
 *
 * ```ts
 * if (e instanceof MatchdayError && e.is(ErrorCode.ODDS_CHANGED)) showOdds(e.body.options);
 * ```
 */
export class MatchdayError extends Error {
  /** The error code (`ErrorCode.*`). */
  readonly code: number;
  /** The code's stable name (`ERROR_NAMES`), or `code_<n>` for a code this client does not know (a Lua module's 5000–5999). */
  override readonly name: string;
  /** The error body: `{ msg }`, and more for some codes (1005: the current odds; 5: `retry_after_s`). */
  readonly body: ErrorBody;
  /** The id of the request that was answered (0 when no request was: a ban closing the connection). */
  readonly msgId: number;

  constructor(code: number, body: ErrorBody, msgId: number) {
    super(body?.msg || ERROR_MESSAGES[code] || `error ${code}`);
    this.code = code;
    this.name = ERROR_NAMES[code] ?? `code_${code}`;
    this.body = body;
    this.msgId = msgId;
  }

  /**
   * True for code 6 (unavailable): the server could not answer now (Redis unreachable, queue full),
   * and the request may still have been done. Retry after a pause; a bet with the same `req_id`.
   * The client never retries on its own.
   */
  get retryable(): boolean {
    return this.code === ErrorCode.UNAVAILABLE;
  }

  /** Whether this error has code `code`; narrows `body` to that code's body type. */
  is<C extends keyof ErrorBodies>(code: C): this is MatchdayErrorOf<C> {
    return this.code === code;
  }
}

/**
 * No reply within `requestTimeoutMs`. The request may still have been done: send a bet again with
 * the same `req_id` (`placeBet` returns the one it used).
 */
export class TimeoutError extends Error {
  override readonly name = "TimeoutError";

  constructor(
    /** The id of the request that timed out. */
    readonly msgId: number,
    /** The timeout, in ms. */
    readonly timeoutMs: number,
  ) {
    super(`no reply to message ${msgId} within ${timeoutMs} ms`);
  }
}

/**
 * The request could not be answered on a connection: it was sent and the connection dropped before
 * its reply, and it is not safe to send again (register, login, resume, logout); or the client was
 * closed; or it could not connect at all (`msgId` 0).
 */
export class DisconnectedError extends Error {
  override readonly name = "DisconnectedError";

  constructor(
    /** The id of the request, or 0 when it was the connection itself that failed. */
    readonly msgId: number,
    why: string,
  ) {
    super(msgId ? `message ${msgId}: ${why}` : why);
  }
}
