import { ERROR_NAMES, ErrorCode, type ErrorBodies } from "./generated/protocol.js";

/** A reply with a non-zero code. `body` is the code's error body (`{ msg }`, with the current odds for 1005, `retry_after_s` for 5). */
export class MatchdayError<C extends number = number> extends Error {
  readonly code: C;
  /** The code's stable name (`insufficient_balance`, ...), or `code_<n>` for a code this client does not know (a Lua module's). */
  readonly codeName: string;
  readonly body: C extends keyof ErrorBodies ? ErrorBodies[C] : { msg: string };
  /** Code 6 (unavailable): the server could not answer now. Retry with backoff (a bet with the same req_id). */
  readonly retryable: boolean;

  constructor(code: C, body: C extends keyof ErrorBodies ? ErrorBodies[C] : { msg: string }) {
    super(`${ERROR_NAMES[code] ?? `code_${code}`}: ${body?.msg ?? ""}`);
    this.name = "MatchdayError";
    this.code = code;
    this.codeName = ERROR_NAMES[code] ?? `code_${code}`;
    this.body = body;
    this.retryable = code === ErrorCode.UNAVAILABLE;
  }
}

/** No reply within `requestTimeoutMs`. The request may still have been done: repeat a bet with the same req_id. */
export class TimeoutError extends Error {
  constructor(readonly msgId: number, readonly ms: number) {
    super(`no reply to msg ${msgId} within ${ms} ms`);
    this.name = "TimeoutError";
  }
}

/** The connection dropped (or `close()` was called) while a request that is not safe to repeat was waiting. */
export class DisconnectedError extends Error {
  constructor(readonly msgId: number, why: string) {
    super(`msg ${msgId}: ${why}`);
    this.name = "DisconnectedError";
  }
}
