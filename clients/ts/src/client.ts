import { Backoff, sleep } from "./backoff.js";
import { encodeFrame, type Frame } from "./codec.js";
import { Connection } from "./connection.js";
import { Emitter, type Listener } from "./emitter.js";
import { DisconnectedError, MatchdayError } from "./errors.js";
import type { ClientEvents } from "./events.js";
import {
  ErrorCode,
  type AccountDeleted,
  type DeleteAccount,
  type Linked,
  type PasswordReset,
  type Devices,
  type Subscribed,
  type Notices,
  type Unread,
  MsgId,
  PUSH_NAMES,
  SESSION_MSG_IDS,
  type BalanceReply,
  type BetPlaced,
  type BetView,
  type ClientHead,
  type Empty,
  type ErrorBody,
  type ItemsOfBetView,
  type ItemsOfLedgerItem,
  type ItemsOfMatchView,
  type ItemsOfOrderView,
  type ItemsOfSessionView,
  type SessionsRevoked,
  type SetProfile,
  type OrderView,
  type LeaderboardQuery,
  type LeaderboardReply,
  type ListMatches,
  type MatchView,
  type Page,
  type PingReply,
  type PlaceBet,
  type ProfileReply,
  type PushEvents,
  type RegisterReply,
  type ReqId,
  type RequestId,
  type Requests,
  type SessionReply,
} from "./generated/protocol.js";
import { settings, type ClientOptions, type Settings } from "./options.js";
import { PendingRequests, type Pending } from "./pending.js";

/**
 * Where the client is:
 * - `open`: connected (and logged in again, if it was);
 * - `connecting`: reconnecting and resuming; calls wait for it;
 * - `idle`: not connected, and not trying to be: after the server closed the connection with 1008
 *   (`banned`, or `login timeout` before any login) or a drop after `session_expired`; the next call
 *   connects;
 * - `closed`: `close()` was called, or the connection dropped with `reconnect: false`; calls fail.
 */
export type ClientState = "open" | "connecting" | "idle" | "closed";

/** A bet to place: {@link PlaceBet} whose `req_id` the client makes when it is not given. */
export type BetRequest = Omit<PlaceBet, "req_id"> & { req_id?: ReqId };

/** The reply to a bet, with the `req_id` it was placed under (a retry must use the same one). */
export type PlacedBet = BetPlaced & { req_id: ReqId };

/**
 * Requests safe to send again after a reconnect: the reads, and a bet (the server places one per
 * `req_id` and answers a repeat with the first reply). register, login, resume and logout are not.
 */
const REPEATABLE: ReadonlySet<number> = new Set([
  MsgId.PING,
  MsgId.PROFILE,
  MsgId.BALANCE,
  MsgId.LEDGER,
  MsgId.LIST_ORDERS,
  MsgId.LIST_SESSIONS,
  MsgId.LIST_NOTICES,
  MsgId.MARK_NOTICES_READ,
  MsgId.SUBSCRIBE_MATCH,
  MsgId.REGISTER_DEVICE,
  MsgId.LIST_MATCHES,
  MsgId.MATCH_DETAIL,
  MsgId.WATCH_MATCH,
  MsgId.PLACE_BET,
  MsgId.MY_BETS,
  MsgId.BET_DETAIL,
  MsgId.LEADERBOARD,
]);

/** WebSocket close code 1008 (policy violation): the server's `banned` and `login timeout` closes. */
const CLOSE_POLICY = 1008;

/**
 * A connection to matchday's WebSocket gateway: typed requests, push events, and a session that
 * survives drops (reconnect with backoff, resume, and the safe requests sent again).
 *
 * ```ts
 * const client = await MatchdayClient.connect("wss://play.example.com/ws");
 * client.on("token", (token) => save(token));
 * await client.login("neo", "s3cret-pass");
 * const { items } = await client.listMatches({ state: 2 });
 * ```
 */
export class MatchdayClient {
  private readonly settings: Settings;
  private readonly events = new Emitter<ClientEvents>();
  private readonly requests: PendingRequests;
  private readonly backoff: Backoff;
  /** Aborted by `close()`: ends a wait between attempts and a connection attempt. */
  private readonly lifetime = new AbortController();
  private connection: Connection | undefined;
  private current: ClientState = "connecting";
  private closedWhy = "";
  private sessionToken: string | undefined;
  /** The session ended (session_expired) and no login since: a drop leaves the client idle. */
  private sessionLost = false;
  /** A reconnect loop is running. */
  private reconnecting = false;

  private constructor(
    private readonly url: string,
    options: ClientOptions,
  ) {
    this.settings = settings(options);
    this.requests = new PendingRequests(this.settings.requestTimeoutMs);
    this.backoff = new Backoff(this.settings.backoffMinMs, this.settings.backoffMaxMs);
  }

  /**
   * Connects to `url` (`ws://` or `wss://`, the gateway's path: `wss://host/ws`). Rejects with a
   * {@link DisconnectedError} when the first connection cannot be made (no retry); once connected,
   * the client reconnects on its own.
   */
  static async connect(url: string, options: ClientOptions = {}): Promise<MatchdayClient> {
    const client = new MatchdayClient(url, options);
    try {
      client.connection = await client.open();
    } catch (e) {
      throw new DisconnectedError(0, (e as Error).message);
    }
    client.current = "open";
    return client;
  }

  /** The session token (from the last login or resume), or undefined when not logged in. */
  get token(): string | undefined {
    return this.sessionToken;
  }

  /** Where the client is: {@link ClientState}. */
  get state(): ClientState {
    return this.current;
  }

  /** Calls `listener` on every `event` from now on; returns the function that stops it. */
  on<E extends keyof ClientEvents>(event: E, listener: Listener<ClientEvents[E]>): () => void {
    return this.events.on(event, listener);
  }

  /** Stops calling `listener` on `event`. */
  off<E extends keyof ClientEvents>(event: E, listener: Listener<ClientEvents[E]>): void {
    this.events.off(event, listener);
  }

  /**
   * Sends request `id` with `body` and resolves with the reply's body. Rejects with
   * {@link MatchdayError} when the reply's code is not 0, {@link TimeoutError} when no reply came
   * within `requestTimeoutMs`, and {@link DisconnectedError} when the connection dropped and the
   * request is not safe to send again (or the client is closed).
   */
  call<I extends RequestId>(id: I, body: Requests[I]["request"]): Promise<Requests[I]["reply"]> {
    return this.request(id, body, false) as Promise<Requests[I]["reply"]>;
  }

  /** 100: the server's time, `{ ts }` (Unix ms). */
  ping(): Promise<PingReply> {
    return this.call(MsgId.PING, {});
  }

  /** 101: signs up (1002 when the name is taken, any case); `{ user_id }`. Log in afterwards. */
  register(username: string, password: string): Promise<RegisterReply> {
    return this.call(MsgId.REGISTER, { username, password });
  }

  /** 102: logs in (1001 bad credentials, 1009 banned); the client keeps the token and emits `token`. */
  login(username: string, password: string): Promise<SessionReply> {
    return this.call(MsgId.LOGIN, { username, password });
  }

  /**
   * 103: resumes the session of `token`, e.g. one saved by an earlier run (1008 when it is gone: log
   * in). The reply carries a new token, which the client keeps and emits as `token`; the old one is dead.
   */
  resume(token: string): Promise<SessionReply> {
    return this.call(MsgId.RESUME, { token });
  }

  /** 104: ends the session (its token no longer resumes); the connection stays, anonymous. */
  logout(): Promise<Empty> {
    return this.call(MsgId.LOGOUT, {});
  }

  /**
   * 105: logs in as this device's guest, creating it on the device's first login (the sign-up
   * grant, no name or password). `deviceId` is the app's secret for this install: a random value
   * (16 to 128 characters, e.g. a UUID) kept in the keychain/keystore. The client keeps the token
   * and emits `token`, as at {@link login}. {@link linkAccount} gives the guest a name later.
   */
  guestLogin(deviceId: string): Promise<SessionReply> {
    return this.call(MsgId.GUEST_LOGIN, { device_id: deviceId });
  }

  /**
   * 106: sets a new password with the one-time code support staff gave the player (before logging
   * in; 1001 for a wrong name or code). Every session of the account ends: log in afterwards.
   */
  resetPassword(username: string, code: string, newPassword: string): Promise<PasswordReset> {
    return this.call(MsgId.RESET_PASSWORD, { username, code, new_password: newPassword });
  }

  /** 201: `{ user_id, username, created_at, nickname?, avatar_url?, guest? }`. */
  profile(): Promise<ProfileReply> {
    return this.call(MsgId.PROFILE, {});
  }

  /** 202: `{ balance }` in coins. */
  balance(): Promise<BalanceReply> {
    return this.call(MsgId.BALANCE, {});
  }

  /** 203: the balance's changes, newest first (`offset`, `limit`: default 20, at most 100). */
  ledger(page: Page = {}): Promise<ItemsOfLedgerItem> {
    return this.call(MsgId.LEDGER, page);
  }

  /**
   * 204: changes the password (the current one is checked: 1001 when wrong) and ends every other
   * session of the player; this connection stays logged in. Not repeated after a reconnect.
   */
  changePassword(oldPassword: string, newPassword: string): Promise<SessionsRevoked> {
    return this.call(MsgId.CHANGE_PASSWORD, { old_password: oldPassword, new_password: newPassword });
  }

  /**
   * 205: changes the nickname and/or avatar URL (an empty string clears one; one left out stays);
   * answers the profile as {@link profile} does.
   */
  setProfile(change: SetProfile): Promise<ProfileReply> {
    return this.call(MsgId.SET_PROFILE, change);
  }

  /**
   * 206: uploads the player's picture (`image/png`, `image/jpeg` or `image/webp`, at most the
   * server's `avatar_max_bytes`, 48 KiB by default: resize first) and makes it their avatar;
   * answers the profile.
   */
  uploadAvatar(contentType: "image/png" | "image/jpeg" | "image/webp", data: Uint8Array): Promise<ProfileReply> {
    return this.call(MsgId.UPLOAD_AVATAR, { content_type: contentType, data: Array.from(data) });
  }

  /** 207: the player's live sessions (devices logged in), `current` marking this connection's. */
  listSessions(): Promise<ItemsOfSessionView> {
    return this.call(MsgId.LIST_SESSIONS, {});
  }

  /** 208: ends one session (`session_id` from {@link listSessions}), or with "others" every session but this one. */
  revokeSession(which: { session_id: string } | "others"): Promise<SessionsRevoked> {
    return this.call(MsgId.REVOKE_SESSION, which === "others" ? { others: true } : which);
  }

  /**
   * 209: gives this guest account a username and password (1002 when the name is taken, 1011 when
   * it has one already); its coins, ledger and bets stay. The device no longer logs in as it.
   */
  linkAccount(username: string, password: string): Promise<Linked> {
    return this.call(MsgId.LINK_ACCOUNT, { username, password });
  }

  /**
   * 210: closes the account for good: `{ password }` (a guest: `{ device_id }`) proves it is the
   * player (1001 when wrong). The balance is forfeited (`forfeited` coins), every session ends and
   * this connection is logged out. Not repeated after a reconnect.
   */
  deleteAccount(proof: DeleteAccount): Promise<AccountDeleted> {
    return this.call(MsgId.DELETE_ACCOUNT, proof);
  }

  /**
   * 212: creates a deposit order of `amount` coins paid on `channel` (one of the deployment's); send
   * the player to its `pay_url`. The payment provider's callback credits it once and marks it paid
   * (a `balance` event with reason "payment" follows). Not repeated after a reconnect: call
   * {@link listOrders} to see whether it was made.
   */
  createOrder(amount: number, channel: string): Promise<OrderView> {
    return this.call(MsgId.CREATE_ORDER, { amount, channel });
  }

  /** 213: the player's newest orders, newest first: `created` (with `pay_url`), `paid` or `expired`. */
  listOrders(page: Page = {}): Promise<ItemsOfOrderView> {
    return this.call(MsgId.LIST_ORDERS, page);
  }

  /**
   * 214: the player's notice board, newest first: notices for everyone, for them, and for the
   * bettors of matches they bet on, each with `read`; `unread` counts the whole board's.
   */
  listNotices(page: Page = {}): Promise<Notices> {
    return this.call(MsgId.LIST_NOTICES, page);
  }

  /** 215: marks these notices read (or every one on the board with "all"); answers `{ unread }`. */
  markNoticesRead(which: string[] | "all"): Promise<Unread> {
    return this.call(MsgId.MARK_NOTICES_READ, which === "all" ? { all: true } : { notice_ids: which });
  }

  /** 301: matches: by default the upcoming and live ones; `state` (2 = open for bets), `type`, `offset`, `limit`. */
  listMatches(query: ListMatches = {}): Promise<ItemsOfMatchView> {
    return this.call(MsgId.LIST_MATCHES, query);
  }

  /** 302: one match (1007 when there is none). */
  matchDetail(matchId: number): Promise<MatchView> {
    return this.call(MsgId.MATCH_DETAIL, { match_id: matchId });
  }

  /**
   * 304: watch a match (or stop, with `watch` false): while watched, every change staff make to it
   * arrives as a `match_updated` event (905) with the match as it is now. 1007 when there is no such match.
   */
  async watchMatch(matchId: number, watch = true): Promise<void> {
    await this.call(MsgId.WATCH_MATCH, { match_id: matchId, watch });
  }

  /**
   * 305: subscribes to a match (`false` cancels): the player is told when it opens for bets,
   * starts and has its result — a `match_event` event (906) while connected, a notification on
   * the devices registered with {@link registerDevice} while the app is closed.
   */
  subscribeMatch(matchId: number, subscribe = true): Promise<Subscribed> {
    return this.call(MsgId.SUBSCRIBE_MATCH, { match_id: matchId, subscribe });
  }

  /**
   * 211: registers this install's push token (`platform` "fcm", "apns" or "webpush") for
   * notifications while the app is closed; `remove` forgets it (call it at logout).
   */
  registerDevice(platform: "fcm" | "apns" | "webpush", token: string, remove = false): Promise<Devices> {
    return this.call(MsgId.REGISTER_DEVICE, remove ? { platform, token, remove } : { platform, token });
  }

  /**
   * 401: places a bet at the match's `odds_ver` (1005 when the odds moved: its body has the new
   * ones). Without a `req_id` the client makes one (`crypto.randomUUID()`), and returns it with the
   * reply: the server places one bet per `req_id`, so a retry after a timeout or code 6 must use it.
   */
  async placeBet(bet: BetRequest): Promise<PlacedBet> {
    const req_id = bet.req_id ?? globalThis.crypto.randomUUID();
    const placed = await this.call(MsgId.PLACE_BET, { ...bet, req_id });
    return { ...placed, req_id };
  }

  /** 402: the player's bets, newest first (`offset`, `limit`). */
  myBets(page: Page = {}): Promise<ItemsOfBetView> {
    return this.call(MsgId.MY_BETS, page);
  }

  /** 403: one of the player's bets (1007 when it is not theirs or does not exist). */
  betDetail(betId: number): Promise<BetView> {
    return this.call(MsgId.BET_DETAIL, { bet_id: betId });
  }

  /**
   * 404: a page of a leaderboard — `board` "net" (net winnings, the default) or "picks" (bets won),
   * `period` "day", "week" (the default) or "all", `date` (YYYY-MM-DD) a day in it — best first,
   * with the player's own place as `me` (absent with no settled bet in the period).
   */
  leaderboard(query: LeaderboardQuery = {}): Promise<LeaderboardReply> {
    return this.call(MsgId.LEADERBOARD, query);
  }

  /**
   * Closes the client for good: the connection is closed, a reconnect stops, and waiting calls and
   * any later ones reject with {@link DisconnectedError}. Emits nothing.
   */
  close(): void {
    if (this.current !== "closed") this.shutDown("the client was closed");
  }

  private open(): Promise<Connection> {
    const { WebSocket, requestTimeoutMs } = this.settings;
    return Connection.open(WebSocket, this.url, requestTimeoutMs, this.lifetime.signal, {
      frame: (connection, frame) => {
        if (connection === this.connection) this.receive(frame);
      },
      closed: (connection, code, reason) => {
        if (connection === this.connection) this.dropped(code, reason);
      },
    });
  }

  /** Adds a request; sends it now when connected (`now`: even while reconnecting, for the resume). */
  private request(id: number, body: unknown, now: boolean): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.current === "closed") return reject(new DisconnectedError(id, this.closedWhy));
      const { format, version } = this.settings;
      const head = (seq: number): ClientHead => (version === undefined ? { id, seq } : { id, seq, ver: version });
      const pending = this.requests.add(id, (seq) => encodeFrame(format, head(seq), body), resolve, reject);
      if (now || this.current === "open") this.send(pending);
      else if (this.current === "idle") this.reconnect(true);
    });
  }

  private send(pending: Pending): void {
    pending.sent = this.connection?.send(pending.message) ?? false;
  }

  /** Sends what waits unsent (after a reconnect). */
  private flush(): void {
    for (const pending of this.requests.list()) {
      if (this.current !== "open") return;
      if (!pending.sent) this.send(pending);
    }
  }

  private receive({ head, body }: Frame): void {
    if (head.seq === 0) {
      // A push (code 0). The server answers a frame it cannot read at all with id 0, seq 0 and a
      // code; this client's frames are always readable, and nothing could be matched to it.
      if (head.code === ErrorCode.OK) this.pushed(head.id, body);
      return;
    }
    const pending = this.requests.take(head.seq, head.id);
    if (!pending) return; // the reply to a request that timed out
    if (head.code !== ErrorCode.OK) {
      return pending.reject(new MatchdayError(head.code, body as ErrorBody, head.id));
    }
    if (head.id === MsgId.LOGIN || head.id === MsgId.RESUME || head.id === MsgId.GUEST_LOGIN) {
      this.sessionToken = (body as SessionReply).token;
      this.sessionLost = false;
      this.events.emit("token", this.sessionToken);
    } else if (head.id === MsgId.LOGOUT || head.id === MsgId.DELETE_ACCOUNT) {
      this.sessionToken = undefined;
    }
    pending.resolve(body);
  }

  private pushed(id: number, body: unknown): void {
    const name = (PUSH_NAMES as Partial<Record<number, keyof PushEvents>>)[id];
    if (name) this.events.emit(name, body as never);
    this.events.emit("push", { id, body });
  }

  /** The current connection is gone, not by `close()`. */
  private dropped(code: number, reason: string): void {
    this.connection = undefined;
    const { reconnect } = this.settings;
    // Sent and not answered: sent again after the reconnect when that is safe; the others fail now.
    for (const pending of this.requests.list()) {
      if (!pending.sent) continue;
      pending.sent = false;
      if (!reconnect) {
        this.requests.fail(pending.seq, new DisconnectedError(pending.id, `the connection dropped (${code}) and reconnect is off`));
      } else if (!REPEATABLE.has(pending.id)) {
        const why = `the connection dropped (${code}) before the reply, and the request is not safe to send again`;
        this.requests.fail(pending.seq, new DisconnectedError(pending.id, why));
      }
    }
    this.events.emit("disconnected", { code, reason });
    if (this.current === "closed") return; // a listener closed the client
    if (!reconnect) return this.shutDown(`the connection dropped (${code}) and reconnect is off`);
    if (code === CLOSE_POLICY && reason === "banned") {
      const banned = new MatchdayError(ErrorCode.ACCOUNT_BANNED, { msg: "account banned: the server closed the connection" }, 0);
      this.sessionEnded(banned);
      return this.idle();
    }
    if (code === CLOSE_POLICY && this.sessionToken === undefined) return this.idle(); // login timeout
    if (this.sessionLost) return this.idle();
    this.current = "connecting";
    if (!this.reconnecting) this.reconnect(false);
  }

  /** Not connected and not trying; calls still waiting (e.g. a login made meanwhile) connect at once. */
  private idle(): void {
    this.current = "idle";
    if (this.requests.list().length > 0) this.reconnect(true);
  }

  /** The session is gone: forget the token, fail the calls that needed it, tell the app. */
  private sessionEnded(error: MatchdayError): void {
    this.sessionToken = undefined;
    this.sessionLost = true;
    for (const pending of this.requests.list()) {
      if (!SESSION_MSG_IDS.includes(pending.id)) this.requests.fail(pending.seq, error);
    }
    this.events.emit("session_expired", error);
  }

  /** Starts the reconnect loop (`immediately`: the first attempt without a wait). */
  private reconnect(immediately: boolean): void {
    this.current = "connecting";
    if (this.reconnecting) return;
    this.reconnecting = true;
    void this.reconnectLoop(immediately).finally(() => {
      this.reconnecting = false;
      // Asked to connect again after the loop had decided to end.
      if (this.current === "connecting") this.reconnect(false);
    });
  }

  /** Connects until a connection is open and its session resumed (or found gone), or the client is closed. */
  private async reconnectLoop(immediately: boolean): Promise<void> {
    for (let attempt = 0; this.current === "connecting"; attempt++) {
      if (attempt > 0 || !immediately) await sleep(this.backoff.next(), this.lifetime.signal);
      if (this.current !== "connecting") return;
      let connection: Connection;
      try {
        connection = await this.open();
      } catch {
        continue; // refused, no handshake in time, or closed meanwhile (the loop's condition)
      }
      if (this.current !== "connecting") return connection.close();
      this.connection = connection;
      const outcome = await this.restoreSession(connection);
      if (this.current !== "connecting" || outcome === "retry") continue;
      this.current = "open";
      this.backoff.reset();
      this.events.emit("reconnected", { resumed: outcome === "resumed" });
      if (outcome instanceof MatchdayError) this.sessionEnded(outcome);
      return this.flush();
    }
  }

  /**
   * Resumes the session, if there is one, on the new `connection`: `resumed`; `none` without a
   * session; the error when the session is gone (1008, 1009); `retry` when it must be tried again
   * on another connection (dropped, no answer in time, or answered 6, 5 or 1).
   */
  private async restoreSession(connection: Connection): Promise<"resumed" | "none" | "retry" | MatchdayError> {
    const token = this.sessionToken;
    if (token === undefined) return "none";
    try {
      await this.request(MsgId.RESUME, { token }, true);
      return this.connection === connection ? "resumed" : "retry";
    } catch (e) {
      if (e instanceof MatchdayError && (e.code === ErrorCode.SESSION_EXPIRED || e.code === ErrorCode.ACCOUNT_BANNED)) return e;
      if (this.connection === connection) {
        this.connection = undefined;
        connection.close();
      }
      return "retry";
    }
  }

  /** Closed for good: fail every waiting request, close the connection, stop any reconnect. */
  private shutDown(why: string): void {
    this.current = "closed";
    this.closedWhy = why;
    for (const pending of this.requests.list()) this.requests.fail(pending.seq, new DisconnectedError(pending.id, why));
    const connection = this.connection;
    this.connection = undefined;
    connection?.close();
    this.lifetime.abort();
  }
}
