// The client against a live matchday: MATCHDAY_WS_URL (ws:// or wss://; for a private CA set
// NODE_EXTRA_CA_CERTS), MATCHDAY_GM_URL and MATCHDAY_GM_TOKEN (an admin token): what `matchday up`
// prints. `cargo test --test it ts_client` starts one (ws and wss) and runs this suite.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import net from "node:net";
import { after, before, test } from "node:test";
import WebSocket from "ws";

import { MatchdayClient, MatchdayError, ErrorCode } from "../dist/index.js";

const { MATCHDAY_WS_URL: WS_URL, MATCHDAY_GM_URL: GM_URL, MATCHDAY_GM_TOKEN: GM_TOKEN } = process.env;
if (!WS_URL || !GM_URL || !GM_TOKEN) {
  throw new Error(
    "set MATCHDAY_WS_URL, MATCHDAY_GM_URL and MATCHDAY_GM_TOKEN to a running matchday (`matchday up` prints them), " +
      "or run `cargo test --test it ts_client`, which starts one",
  );
}

const connect = (url = WS_URL, options = {}) =>
  MatchdayClient.connect(url, { WebSocket, backoffMinMs: 50, backoffMaxMs: 1000, ...options });

/** A staff call to gm; fails the test on a non-2xx answer. */
async function gm(method, path, body) {
  const res = await fetch(`${GM_URL}${path}`, {
    method,
    headers: { authorization: `Bearer ${GM_TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** The first `event` of `client`, within `ms`. */
function next(client, event, ms = 15_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    const off = client.on(event, (payload) => {
      clearTimeout(timer);
      off();
      resolve(payload);
    });
  });
}

/** A new player, logged in on `client`; returns the login reply. */
async function player(client) {
  const name = `ts_${randomBytes(5).toString("hex")}`;
  const userId = await client.register(name, "s3cret-pass");
  const session = await client.login(name, "s3cret-pass");
  assert.equal(session.user_id, userId);
  return session;
}

/** A new open match: options a (1.85) and b (2.10), stakes 10 to 10^7; returns its id. */
async function openMatch() {
  const created = await gm("POST", "/api/matches", {
    type: "lol",
    title: "TS vs Rust",
    teams: ["TS", "Rust"],
    start_at: Date.now() + 3_600_000,
    options: [
      { key: "a", label: "TS", odds: 1850 },
      { key: "b", label: "Rust", odds: 2100 },
    ],
    min_stake: 10,
    max_stake: 10_000_000,
  });
  for (const step of ["approve", "open"]) await gm("POST", `/api/matches/${created.match_id}/${step}`, {});
  return created.match_id;
}

/** A TCP proxy to the server of `url` whose connections `cut()` drops (the server's side of a
 * disconnect, as the client sees it). */
async function tcpProxy(url) {
  const target = new URL(url);
  const sockets = new Set();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(Number(target.port), target.hostname);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => {
        inbound.destroy();
        outbound.destroy();
        sockets.delete(s);
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const proxied = new URL(url);
  proxied.host = `127.0.0.1:${server.address().port}`;
  return {
    url: proxied.toString(),
    cut: () => sockets.forEach((s) => s.destroy()),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

const clients = [];
after(() => clients.forEach((c) => c.close()));

test("signs up, logs in (the token is kept and announced) and reads its balance", async () => {
  const c = await connect();
  clients.push(c);
  const token = next(c, "token");
  const session = await player(c);
  assert.equal(await token, session.token);
  assert.equal(c.token, session.token);
  assert.equal(await c.balance(), session.balance);
  assert.equal((await c.profile()).user_id, session.user_id);
});

test("lists the open match, bets on it, and is pushed the settlement and the payout", async () => {
  const match = await openMatch();
  const c = await connect();
  clients.push(c);
  const session = await player(c);
  const listed = await c.listMatches({ state: 2, limit: 100 });
  const view = listed.items.find((m) => m.match_id === match) ?? (await c.matchDetail(match));
  assert.deepEqual(view.options.map((o) => o.key), ["a", "b"]);
  const placed = await c.placeBet({ match_id: match, option: "a", stake: 100, odds_ver: view.odds_ver });
  assert.equal(placed.balance, session.balance - 100);
  assert.equal(typeof placed.req_id, "string");
  const settled = next(c, "bet_settled", 30_000);
  const paid = next(c, "balance", 30_000);
  await gm("POST", `/api/matches/${match}/start`, {});
  await gm("POST", `/api/matches/${match}/result`, { winner: "a" });
  const push = await settled;
  assert.deepEqual([push.bet_id, push.match_id, push.result, push.payout], [placed.bet_id, match, "won", 185]);
  const balance = await paid;
  assert.equal(balance.reason, "payout");
  assert.equal(await c.balance(), balance.balance);
  assert.equal((await c.betDetail(placed.bet_id)).state, "won");
});

test("a refused request rejects with its code, its name and its typed body", async () => {
  const match = await openMatch();
  const c = await connect();
  clients.push(c);
  const session = await player(c);
  const stale = await c.placeBet({ match_id: match, option: "a", stake: 10, odds_ver: 99 }).then(
    () => assert.fail("a stale odds version is refused"),
    (e) => e,
  );
  assert.ok(stale instanceof MatchdayError);
  assert.equal(stale.code, ErrorCode.ODDS_CHANGED);
  assert.equal(stale.codeName, "odds_changed");
  assert.equal(stale.body.odds_ver, 1);
  assert.deepEqual(stale.body.options.map((o) => o.odds), [1850, 2100]);
  const poor = await c.placeBet({ match_id: match, option: "b", stake: session.balance + 10, odds_ver: 1 }).catch((e) => e);
  assert.equal(poor.code, ErrorCode.INSUFFICIENT_BALANCE);
  assert.equal(poor.retryable, false);
  const anonymous = await connect();
  clients.push(anonymous);
  assert.equal((await anonymous.balance().catch((e) => e)).code, ErrorCode.NOT_LOGGED_IN);
  assert.equal(await c.balance(), session.balance, "nothing was debited");
});

test("survives a server-side disconnect: reconnects, resumes (a new token) and places the bet in flight once", async () => {
  const match = await openMatch();
  const proxy = await tcpProxy(WS_URL);
  const c = await connect(proxy.url);
  clients.push(c);
  const session = await player(c);
  const disconnected = next(c, "disconnected");
  const reconnected = next(c, "reconnected");
  const rotated = next(c, "token");
  const bet = c.placeBet({ match_id: match, option: "b", stake: 10, odds_ver: 1 });
  proxy.cut();
  await disconnected;
  assert.deepEqual(await reconnected, { resumed: true });
  const token = await rotated;
  assert.notEqual(token, session.token);
  assert.equal(c.token, token);
  const placed = await bet;
  // Once: whether the bet reached the server before the cut or only after the resume.
  assert.equal(await c.balance(), session.balance - 10);
  const mine = await c.myBets();
  assert.deepEqual(mine.items.map((b) => b.bet_id), [placed.bet_id]);
  // The same req_id again answers the first reply and debits nothing.
  const again = await c.placeBet({ match_id: match, option: "b", stake: 10, odds_ver: 1, req_id: placed.req_id });
  assert.equal(again.bet_id, placed.bet_id);
  assert.equal(await c.balance(), session.balance - 10);
  c.close();
  await proxy.close();
});
