/**
 * What the client needs of a WebSocket. The browser's `WebSocket`, Node ≥ 22's global one and the
 * `ws` package's class all have it.
 */
export interface WebSocketLike {
  /** Set to `"arraybuffer"` by the client, so that binary messages arrive as `ArrayBuffer`s. */
  binaryType: string;
  /** 1 while open (the WebSocket standard's `OPEN`). */
  readonly readyState: number;
  send(data: Uint8Array | string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open", listener: () => void): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(type: "close", listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: "error", listener: () => void): void;
}

/** A WebSocket class: `new WebSocket(url)`. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** The frame format: MessagePack in binary messages, or JSON in text messages (for debugging). */
export type Format = "msgpack" | "json";

/** The options of {@link MatchdayClient.connect}; every one has a default. */
export interface ClientOptions {
  /** The WebSocket class. Default: `globalThis.WebSocket` (browsers, Node ≥ 22); in Node 20 pass the `ws` package's. */
  WebSocket?: WebSocketConstructor;
  /** How long a request waits for its reply, and a connection attempt for its handshake, in ms. Default 15,000. */
  requestTimeoutMs?: number;
  /** Reconnect, and resume the session, when the connection drops. Default `true`. */
  reconnect?: boolean;
  /** The first reconnect delay in ms; it doubles on each failed attempt. Default 500. */
  backoffMinMs?: number;
  /** The longest reconnect delay in ms. Default 10,000. Each wait is between half and all of the delay. */
  backoffMaxMs?: number;
  /** Sent as `ver` in every request head; the server logs it. Default: none. */
  version?: string;
  /** `"msgpack"` (binary frames) or `"json"` (text frames). Default `"msgpack"`. */
  format?: Format;
}

/** {@link ClientOptions} with every default filled in. */
export interface Settings {
  WebSocket: WebSocketConstructor;
  requestTimeoutMs: number;
  reconnect: boolean;
  backoffMinMs: number;
  backoffMaxMs: number;
  version: string | undefined;
  format: Format;
}

/** Fills in the defaults; throws when there is no WebSocket class to use. */
export function settings(options: ClientOptions): Settings {
  const WebSocket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!WebSocket) {
    throw new TypeError("no WebSocket class: pass options.WebSocket (in Node < 22, the `ws` package's)");
  }
  return {
    WebSocket,
    requestTimeoutMs: options.requestTimeoutMs ?? 15_000,
    reconnect: options.reconnect ?? true,
    backoffMinMs: options.backoffMinMs ?? 500,
    backoffMaxMs: options.backoffMaxMs ?? 10_000,
    version: options.version,
    format: options.format ?? "msgpack",
  };
}
