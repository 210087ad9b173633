// What the live tests share: the server's addresses, gm, players, matches, and waiting for events.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { decode } from "@msgpack/msgpack";
import WebSocket from "ws";

import { MatchdayClient } from "../../dist/index.js";

/** Why the live suite cannot run, and how to run it; undefined when it can. */
export const missing = (() => {
  const unset = ["MATCHDAY_WS_URL", "MATCHDAY_GM_URL", "MATCHDAY_GM_TOKEN"].filter((name) => !process.env[name]);
  if (unset.length === 0) return undefined;
  return (
    `the live tests need a running matchday: ${unset.join(", ")} not set. Start one with ` +
    "`matchday up` (from the repository root; it prints the WebSocket address, the gm API and an admin gm token), then: " +
    "MATCHDAY_WS_URL=ws://127.0.0.1:PORT/ws MATCHDAY_GM_URL=http://127.0.0.1:PORT MATCHDAY_GM_TOKEN=<hex> npm test " +
    "(for wss:// with a private CA also NODE_EXTRA_CA_CERTS=<ca.pem>). docs/clients.md says more; " +
    "`cargo test --test it ts_client` does all of it."
  );
})();

export const WS_URL = process.env.MATCHDAY_WS_URL;
const GM_URL = process.env.MATCHDAY_GM_URL?.replace(/\/+$/, "");
const GM_TOKEN = process.env.MATCHDAY_GM_TOKEN;

/** How long a test waits for anything (an event, a state) before it fails. */
const WAIT_MS = 20_000;

const open = new Set();

/** A client of the server (or of `url`), with short reconnect delays; closed by `closeAll`. */
export async function connect(url = WS_URL, options = {}) {
  const client = await MatchdayClient.connect(url, { WebSocket, backoffMinMs: 20, backoffMaxMs: 200, ...options });
  open.add(client);
  return client;
}

/** Closes every client `connect` made. */
export function closeAll() {
  open.forEach((client) => client.close());
  open.clear();
}

/**
 * A WebSocket class that records what each of its sockets sends: `frames` are `{ socket, text, head,
 * body }` in the order sent (`socket` counts the sockets from 1; `text`: sent as a text message).
 * `onSend(frame)`, when set, is called as each frame goes out.
 */
export function recorder() {
  const frames = [];
  const wire = { frames, sent: (id) => frames.filter((f) => f.head.id === id), onSend: undefined };
  let sockets = 0;
  class Recording extends WebSocket {
    constructor(url) {
      super(url);
      this.socket = ++sockets;
    }
    send(data) {
      const text = typeof data === "string";
      const [head, body] = text ? JSON.parse(data) : decode(data);
      const frame = { socket: this.socket, text, head, body };
      frames.push(frame);
      super.send(data);
      wire.onSend?.(frame);
    }
  }
  wire.WebSocket = Recording;
  return wire;
}

/** A gm call with the admin token; fails the test unless the answer is 2xx. */
export async function gm(method, path, body) {
  const res = await fetch(`${GM_URL}${path}`, {
    method,
    headers: { authorization: `Bearer ${GM_TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `gm ${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** Resolves with the next `event` of `client` for which `where` holds; fails after WAIT_MS. */
export function nextEvent(client, event, where = () => true) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${event} event within ${WAIT_MS} ms`));
    }, WAIT_MS);
    const off = client.on(event, (payload) => {
      if (!where(payload)) return;
      clearTimeout(timer);
      off();
      resolve(payload);
    });
  });
}

/** Resolves with `check()`'s first truthy answer, asking again as soon as the last answer came; fails after WAIT_MS. */
export async function until(what, check) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const answer = await check();
    if (answer) return answer;
    assert.ok(Date.now() < deadline, `${what}: not within ${WAIT_MS} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Signs up a new player and logs `client` in: `{ username, password, user_id, token, balance }`. */
export async function newPlayer(client) {
  const username = `ts_${randomBytes(6).toString("hex")}`;
  const password = "s3cret-pass";
  const { user_id } = await client.register(username, password);
  const session = await client.login(username, password);
  assert.equal(session.user_id, user_id);
  return { username, password, ...session };
}

/** A new match, approved and open for bets: options a (1.85) and b (2.10), stakes 10 to 10^7. */
export async function openMatch() {
  const created = await gm("POST", "/api/matches", {
    type: "lol",
    title: "TypeScript vs Rust",
    teams: ["TS", "Rust"],
    start_at: Date.now() + 3_600_000,
    options: [
      { key: "a", label: "TS wins", odds: 1850 },
      { key: "b", label: "Rust wins", odds: 2100 },
    ],
    min_stake: 10,
    max_stake: 10_000_000,
  });
  await gm("POST", `/api/matches/${created.match_id}/approve`, {});
  return gm("POST", `/api/matches/${created.match_id}/open`, {});
}

/** The ids of the bets placed for `userId` with `reqId`, as gm sees them (in the user's recent ledger). */
export async function serverBets(userId, reqId) {
  const user = await gm("GET", `/api/users/${userId}`);
  return user.recent_ledger.filter((entry) => entry.reason === "bet" && entry.req_id === reqId).map((entry) => Number(entry.ref));
}
