import { decodeFrame, type Frame } from "./codec.js";
import type { WebSocketConstructor, WebSocketLike } from "./options.js";

const OPEN = 1;

/** How a connection tells its owner what happens on it. */
export interface ConnectionEvents {
  /** A frame arrived on `connection`. */
  frame(connection: Connection, frame: Frame): void;
  /** `connection` is gone (the server closed it, the network dropped it, or `close()`). */
  closed(connection: Connection, code: number, reason: string): void;
}

/** One open WebSocket to the server, sending and reading `[head, body]` frames. */
export class Connection {
  private constructor(private readonly ws: WebSocketLike) {}

  /**
   * Opens a WebSocket to `url`; rejects when it does not open within `timeoutMs` or `signal` is
   * aborted. Once open, `events` hears of its frames and of its end (once).
   */
  static open(
    WebSocket: WebSocketConstructor,
    url: string,
    timeoutMs: number,
    signal: AbortSignal,
    events: ConnectionEvents,
  ): Promise<Connection> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new Error(`cannot connect to ${url}: the client was closed`));
      const ws = new WebSocket(url);
      ws.binaryType = "arraybuffer";
      const connection = new Connection(ws);
      let state: "opening" | "open" | "closed" = "opening";
      const fail = (why: string) => {
        if (state !== "opening") return;
        state = "closed";
        clearTimeout(timer);
        signal.removeEventListener("abort", abort);
        ws.close();
        reject(new Error(`cannot connect to ${url}: ${why}`));
      };
      const abort = () => fail("the client was closed");
      const timer = setTimeout(() => fail(`no handshake within ${timeoutMs} ms`), timeoutMs);
      signal.addEventListener("abort", abort);
      ws.addEventListener("open", () => {
        if (state !== "opening") return;
        state = "open";
        clearTimeout(timer);
        signal.removeEventListener("abort", abort);
        resolve(connection);
      });
      ws.addEventListener("error", () => fail("connection error"));
      ws.addEventListener("message", (event) => {
        const frame = state === "open" ? decodeFrame(event.data) : undefined;
        // Not a frame: nothing can be matched to it, and the server never sends one.
        if (frame) events.frame(connection, frame);
      });
      ws.addEventListener("close", (event) => {
        if (state === "opening") return fail(`closed (${event.code}${event.reason ? ` ${event.reason}` : ""})`);
        if (state === "closed") return;
        state = "closed";
        events.closed(connection, event.code, event.reason);
      });
    });
  }

  /** Sends one encoded frame; false when the connection is no longer open (its close event is on its way). */
  send(message: Uint8Array | string): boolean {
    if (this.ws.readyState !== OPEN) return false;
    try {
      this.ws.send(message);
      return true;
    } catch {
      return false;
    }
  }

  /** Closes the WebSocket (1000). Its `closed` event still comes, when the close is done. */
  close(): void {
    this.ws.close(1000, "bye");
  }
}
