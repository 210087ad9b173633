// The parts of the client that need no server: errors, backoff delays, frame decoding.
import assert from "node:assert/strict";
import { test } from "node:test";
import { encode } from "@msgpack/msgpack";

import { Backoff } from "../dist/backoff.js";
import { decodeFrame, encodeFrame } from "../dist/codec.js";
import { ErrorCode, MatchdayClient, MatchdayError } from "../dist/index.js";

test("MatchdayError: the code's name, the server's message, retryable only for 6", () => {
  const busy = new MatchdayError(ErrorCode.UNAVAILABLE, { msg: "server busy" }, 401);
  assert.deepEqual([busy.name, busy.message, busy.retryable, busy.msgId], ["unavailable", "server busy", true, 401]);
  assert.equal(String(busy), "unavailable: server busy");
  const limited = new MatchdayError(ErrorCode.RATE_LIMITED, { msg: "slow down", retry_after_s: 3 }, 102);
  assert.deepEqual([limited.name, limited.retryable, limited.body.retry_after_s], ["rate_limited", false, 3]);
  const lua = new MatchdayError(5001, { msg: "" }, 501);
  assert.deepEqual([lua.name, lua.message], ["code_5001", "error 5001"]);
  assert.ok(busy.is(ErrorCode.UNAVAILABLE) && !busy.is(ErrorCode.INTERNAL));
});

test("Backoff: from the minimum doubling to the maximum, each wait between half and all of the delay", () => {
  const backoff = new Backoff(500, 10_000);
  const delays = [500, 1000, 2000, 4000, 8000, 10_000, 10_000];
  for (const delay of delays) {
    const wait = backoff.next();
    assert.ok(wait >= delay / 2 && wait <= delay, `${wait} within [${delay / 2}, ${delay}]`);
  }
  backoff.reset();
  assert.ok(backoff.next() <= 500);
});

test("frames: MessagePack and JSON, and anything else ignored", () => {
  const head = { id: 202, seq: 7, code: 0 };
  assert.deepEqual(decodeFrame(encode([head, { balance: 5 }])), { head, body: { balance: 5 } });
  assert.deepEqual(decodeFrame(JSON.stringify([head, { balance: 5 }])), { head, body: { balance: 5 } });
  assert.equal(decodeFrame(encodeFrame("msgpack", { id: 202, seq: 7 }, {})), undefined, "a head without a code is no reply");
  for (const junk of [new Uint8Array([0xc1]), "[1,2", "{}", JSON.stringify([{ id: 1 }, {}]), 42]) {
    assert.equal(decodeFrame(junk), undefined, String(junk));
  }
  assert.equal(encodeFrame("json", { id: 100, seq: 1, ver: "x" }, {}), '[{"id":100,"seq":1,"ver":"x"},{}]');
});

test("connect without a WebSocket class says what to pass", async () => {
  const saved = globalThis.WebSocket;
  delete globalThis.WebSocket;
  try {
    await assert.rejects(MatchdayClient.connect("ws://127.0.0.1:9/ws"), /pass options\.WebSocket/);
  } finally {
    if (saved) globalThis.WebSocket = saved;
  }
});
