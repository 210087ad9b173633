import { decode, encode } from "@msgpack/msgpack";

import type { ClientHead, ReplyHead } from "./generated/protocol.js";
import type { Format } from "./options.js";

/** A received frame: its head and its body (still untyped: the request it answers says what it is). */
export interface Frame {
  head: ReplyHead;
  body: unknown;
}

/** `[head, body]` as one WebSocket message: MessagePack bytes, or JSON text. */
export function encodeFrame(format: Format, head: ClientHead, body: unknown): Uint8Array | string {
  const frame = [head, body];
  return format === "json" ? JSON.stringify(frame) : encode(frame);
}

/**
 * Reads a message from the server: text is JSON, anything else MessagePack (the server answers in
 * the format of the client's latest frame). Undefined when it is not a `[head, body]` frame.
 */
export function decodeFrame(data: unknown): Frame | undefined {
  let frame: unknown;
  try {
    if (typeof data === "string") frame = JSON.parse(data);
    else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) frame = decode(data);
    else return undefined;
  } catch {
    return undefined;
  }
  if (!Array.isArray(frame) || frame.length !== 2) return undefined;
  const [head, body] = frame as [Partial<ReplyHead> | null, unknown];
  if (typeof head?.id !== "number" || typeof head.seq !== "number" || typeof head.code !== "number") return undefined;
  return { head: { id: head.id, seq: head.seq, code: head.code }, body };
}
