import type { MatchdayError } from "./errors.js";
import type { PushEvents } from "./generated/protocol.js";

/**
 * The events of {@link MatchdayClient.on}: one per push of the protocol, named as in the schema
 * without `push_` (`bet_settled` 901, `match_state` 902, `announcement` 903, `balance` 904,
 * `match_updated` 905, `match_event` 906), with the push's body; and the client's own.
 */
export interface ClientEvents extends PushEvents {
  /** Every push, the named ones above included, and those this client has no type for (a Lua module's 950–999). */
  push: { id: number; body: unknown };
  /**
   * The connection dropped (the WebSocket close code and reason: 1006 for a network drop, 1001 for a
   * server shutdown, 1008 `banned`, ...). Unless `close()` was called or `reconnect` is off, the
   * client reconnects; after a `banned` or `login timeout` close it waits for the next call.
   */
  disconnected: { code: number; reason: string };
  /** Connected again; `resumed` says whether the session was resumed (false: there was none, or it had expired). */
  reconnected: { resumed: boolean };
  /** The session token changed: a login, and every resume, which rotates it. Persist it to resume after a restart. */
  token: string;
  /**
   * The session is gone: a resume after a reconnect was answered 1008 (session expired) or 1009
   * (account banned), or the server closed the connection because staff banned the account (then
   * code 1009, `msgId` 0). The client forgets its token and rejects the calls waiting for the
   * session with this error. It stays connected, logged out (after a ban: not connected, until the
   * next call), and a drop no longer reconnects until the next call. Log in again.
   */
  session_expired: MatchdayError;
}
