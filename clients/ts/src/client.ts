import { decode, encode } from "@msgpack/msgpack";

import { Backoff } from "./backoff.js";
import { DisconnectedError, MatchdayError, TimeoutError } from "./errors.js";
import {
  type AnnouncementPush,
  type BalancePush,
  type BetPlaced,
  type BetSettledPush,
  type ListMatches,
  type MatchStatePush,
  type Page,
  type PlaceBet,
  type ReplyHead,
  type Requests,
  ErrorCode,
  MsgId,
  PUSH_NAMES,
  SESSION_MSG_IDS,
} from "./generated/protocol.js";

/** What the client needs of a WebSocket: the browser's, Node ≥ 22's global one, or the `ws` package's. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array | string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface ClientOptions {
  /** The WebSocket class (default: `globalThis.WebSocket`; in Node 20 pass `ws`'s). */
  WebSocket?: WebSocketConstructor;
  /** How long a request waits for its reply (default 15,000 ms). */
  requestTimeoutMs?: number;
  /** Reconnect (and resume the session) when the connection drops (default true). */
  reconnect?: boolean;
  /** Reconnect delays: from `backoffMinMs` (500) doubling to `backoffMaxMs` (10,000), jittered. */
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** Sent as `ver` in every head; the server logs it. */
  version?: string;
  /** "msgpack" (binary frames, default) or "json" (text frames, for debugging). */
  format?: "msgpack" | "json";
}

/** The events of [`MatchdayClient.on`]. */
export interface ClientEvents {
  bet_settled: BetSettledPush;
  match_state: MatchStatePush;
  announcement: AnnouncementPush;
  balance: BalancePush;
  /** Every push, including ids this client has no name for (a Lua module's 950–999). */
  push: { id: number; body: unknown };
  /** The connection dropped; the client reconnects (unless `reconnect: false` or `close()`). */
  disconnected: { code: number; reason: string };
  /** Connected again; `resumed` when the session was resumed (false: there was none to resume). */
  reconnected: { resumed: boolean };
  /** The session token changed (login; every resume rotates it): persist it to resume after a restart. */
  token: string;
  /** The session could not be resumed (1008: expired or logged out; 1009: banned): log in again. */
  session_expired: MatchdayError;
}

type Handler<E extends keyof ClientEvents> = (payload: ClientEvents[E]) => void;
type RequestId = keyof Requests & number;

interface Pending {
  id: number;
  seq: number;
  body: unknown;
  resolve: (body: unknown) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Requests safe to send again after a reconnect: reads, and a bet (same req_id: placed at most once). */
function repeatable(id: number): boolean {
  return id === MsgId.PING || !SESSION_MSG_IDS.includes(id);
}

/** One connection to matchday, reconnecting and resuming its session when it drops. */
export class MatchdayClient {
  private ws!: WebSocketLike;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly handlers = new Map<string, Set<(payload: never) => void>>();
  private sessionToken: string | undefined;
  private closed = false;
  /** Set while reconnecting: new calls wait for it. */
  private reconnecting: Promise<void> | undefined;
  private readonly opts: Required<Omit<ClientOptions, "version">> & { version?: string };

  private constructor(
    private readonly url: string,
    options: ClientOptions,
  ) {
    const WebSocketClass = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WebSocketClass) {
      throw new Error("no WebSocket class: pass options.WebSocket (e.g. the `ws` package's in Node < 22)");
    }
    this.opts = {
      WebSocket: WebSocketClass,
      requestTimeoutMs: options.requestTimeoutMs ?? 15_000,
      reconnect: options.reconnect ?? true,
      backoffMinMs: options.backoffMinMs ?? 500,
      backoffMaxMs: options.backoffMaxMs ?? 10_000,
      format: options.format ?? "msgpack",
      version: options.version,
    };
  }

  /** Connects to `url` (`ws://` or `wss://`, path `/ws`). */
  static async connect(url: string, options: ClientOptions = {}): Promise<MatchdayClient> {
    const client = new MatchdayClient(url, options);
    await client.open();
    return client;
  }

  /** The session token (after login or resume), if any. */
  get token(): string | undefined {
    return this.sessionToken;
  }

  /** Listens to `event`; returns the function that stops listening. */
  on<E extends keyof ClientEvents>(event: E, handler: Handler<E>): () => void {
    let set = this.handlers.get(event);
    if (!set) {
      set = new Set();
      this.handlers.set(event, set);
    }
    set.add(handler as (payload: never) => void);
    return () => set.delete(handler as (payload: never) => void);
  }

  /** Sends request `id` with `body`; resolves with the reply body, rejects with [`MatchdayError`] for a non-zero code. */
  async call<I extends RequestId>(id: I, body: Requests[I]["request"]): Promise<Requests[I]["reply"]> {
    if (this.closed) throw new DisconnectedError(id, "the client is closed");
    if (this.reconnecting) await this.reconnecting;
    return (await this.request(id, body)) as Requests[I]["reply"];
  }

  ping() {
    return this.call(MsgId.PING, {});
  }

  /** 101: signs up; resolves with the new user id. */
  async register(username: string, password: string): Promise<number> {
    return (await this.call(MsgId.REGISTER, { username, password })).user_id;
  }

  /** 102: logs in; the session token is kept (and the `token` event says so). */
  login(username: string, password: string) {
    return this.call(MsgId.LOGIN, { username, password });
  }

  /** 103: resumes the session of `token` (e.g. saved from an earlier run); the reply's new token is kept. */
  resume(token: string) {
    return this.call(MsgId.RESUME, { token });
  }

  /** 104: ends the session; the token no longer resumes. */
  logout() {
    return this.call(MsgId.LOGOUT, {});
  }

  profile() {
    return this.call(MsgId.PROFILE, {});
  }

  /** 202: the balance in coins. */
  async balance(): Promise<number> {
    return (await this.call(MsgId.BALANCE, {})).balance;
  }

  ledger(page: Page = {}) {
    return this.call(MsgId.LEDGER, page);
  }

  listMatches(query: ListMatches = {}) {
    return this.call(MsgId.LIST_MATCHES, query);
  }

  matchDetail(matchId: number) {
    return this.call(MsgId.MATCH_DETAIL, { match_id: matchId });
  }

  /** 401: places a bet. Without a `req_id` one is made (a UUID); it is returned so that a retry (after a
   * timeout or code 6) can use the same one: the server places a bet at most once per req_id. */
  async placeBet(bet: Omit<PlaceBet, "req_id"> & { req_id?: PlaceBet["req_id"] }): Promise<BetPlaced & { req_id: PlaceBet["req_id"] }> {
    const req_id = bet.req_id ?? globalThis.crypto.randomUUID();
    const placed = await this.call(MsgId.PLACE_BET, { ...bet, req_id });
    return { ...placed, req_id };
  }

  myBets(page: Page = {}) {
    return this.call(MsgId.MY_BETS, page);
  }

  betDetail(betId: number) {
    return this.call(MsgId.BET_DETAIL, { bet_id: betId });
  }

  /** Closes the connection for good; waiting requests are rejected with [`DisconnectedError`]. */
  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new DisconnectedError(p.id, "the client was closed"));
    }
    this.pending.clear();
    this.ws.close(1000, "bye");
  }

  private open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new this.opts.WebSocket(this.url);
      ws.binaryType = "arraybuffer";
      let opened = false;
      ws.onopen = () => {
        opened = true;
        this.ws = ws;
        resolve();
      };
      ws.onerror = () => {
        if (!opened) reject(new Error(`cannot connect to ${this.url}`));
      };
      ws.onmessage = (ev) => this.receive(ev.data);
      ws.onclose = (ev) => {
        if (!opened) return reject(new Error(`cannot connect to ${this.url} (${ev.code})`));
        if (this.ws === ws) this.dropped(ev.code, ev.reason);
      };
    });
  }

  private request(id: number, body: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const seq = (this.seq = (this.seq % 0xffff_fffe) + 1);
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new TimeoutError(id, this.opts.requestTimeoutMs));
      }, this.opts.requestTimeoutMs);
      const pending: Pending = { id, seq, body, resolve, reject, timer };
      this.pending.set(seq, pending);
      this.send(pending);
    });
  }

  private send(p: Pending): void {
    const head: { id: number; seq: number; ver?: string } = { id: p.id, seq: p.seq };
    if (this.opts.version) head.ver = this.opts.version;
    const frame = [head, p.body];
    try {
      this.ws.send(this.opts.format === "json" ? JSON.stringify(frame) : encode(frame));
    } catch {
      // The socket is closing: the close handler decides what happens to the request.
    }
  }

  private receive(data: unknown): void {
    let head: ReplyHead;
    let body: unknown;
    try {
      const frame = (typeof data === "string" ? JSON.parse(data) : decode(new Uint8Array(data as ArrayBuffer))) as [ReplyHead, unknown];
      [head, body] = frame;
    } catch {
      return; // not a frame: nothing to match it to
    }
    if (head.seq === 0) return this.pushed(head.id, body);
    const p = this.pending.get(head.seq);
    if (!p || p.id !== head.id) return; // a reply to a request that timed out
    this.pending.delete(head.seq);
    clearTimeout(p.timer);
    if (head.code !== ErrorCode.OK) {
      return p.reject(new MatchdayError(head.code, body as { msg: string }));
    }
    if (head.id === MsgId.LOGIN || head.id === MsgId.RESUME) {
      this.setToken((body as { token: string }).token);
    } else if (head.id === MsgId.LOGOUT) {
      this.sessionToken = undefined;
    }
    p.resolve(body);
  }

  private pushed(id: number, body: unknown): void {
    const name = (PUSH_NAMES as Record<number, keyof ClientEvents | undefined>)[id];
    if (name) this.emit(name, body as never);
    this.emit("push", { id, body });
  }

  private setToken(token: string): void {
    this.sessionToken = token;
    this.emit("token", token);
  }

  private emit<E extends keyof ClientEvents>(event: E, payload: ClientEvents[E]): void {
    for (const handler of this.handlers.get(event) ?? []) {
      try {
        (handler as Handler<E>)(payload);
      } catch {
        // A listener's error is the app's; it must not break the client.
      }
    }
  }

  /** The connection dropped: reject what cannot be repeated, then reconnect, resume, re-send the rest. */
  private dropped(code: number, reason: string): void {
    this.emit("disconnected", { code, reason });
    for (const p of [...this.pending.values()]) {
      if (!repeatable(p.id) || !this.opts.reconnect || this.closed) {
        this.pending.delete(p.seq);
        clearTimeout(p.timer);
        p.reject(new DisconnectedError(p.id, "the connection dropped; it is not safe to send again"));
      }
    }
    // A drop during the reconnect itself (the resume's connection) is the running loop's to retry.
    if (!this.opts.reconnect || this.closed || this.reconnecting) return;
    this.reconnecting = this.reconnect().finally(() => {
      this.reconnecting = undefined;
    });
  }

  private async reconnect(): Promise<void> {
    const backoff = new Backoff(this.opts.backoffMinMs, this.opts.backoffMaxMs);
    while (!this.closed) {
      await new Promise((r) => setTimeout(r, backoff.next()));
      if (this.closed) return;
      try {
        await this.open();
      } catch {
        continue;
      }
      let resumed = false;
      if (this.sessionToken) {
        try {
          await this.request(MsgId.RESUME, { token: this.sessionToken });
          resumed = true;
        } catch (e) {
          if (e instanceof MatchdayError && (e.code === ErrorCode.SESSION_EXPIRED || e.code === ErrorCode.ACCOUNT_BANNED)) {
            this.sessionToken = undefined;
            this.failWaiting(e);
            this.emit("session_expired", e);
            this.emit("reconnected", { resumed: false });
            return;
          }
          continue; // dropped again, unavailable, timed out: try again
        }
      }
      this.emit("reconnected", { resumed });
      for (const p of this.pending.values()) this.send(p);
      return;
    }
  }

  /** Rejects every waiting request with `e` (the session they needed is gone). */
  private failWaiting(e: Error): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.pending.clear();
  }
}
