// The client against a live matchday: MATCHDAY_WS_URL (ws:// or wss://; for a private CA,
// NODE_EXTRA_CA_CERTS), MATCHDAY_GM_URL and MATCHDAY_GM_TOKEN (an admin token), as `matchday up`
// prints them. Without them this file has one test, which fails saying how to run it.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, test } from "node:test";

import { DisconnectedError, ErrorCode, MatchdayError, MsgId, TimeoutError } from "../dist/index.js";
import {
  WS_URL,
  closeAll,
  connect,
  gm,
  missing,
  newPlayer,
  nextEvent,
  openMatch,
  recorder,
  serverBets,
  until,
} from "./support/live.mjs";
import { tcpProxy } from "./support/proxy.mjs";

if (missing) {
  test("the live tests have a server to run against", () => assert.fail(missing));
} else {
  liveTests();
}

/** The rejection of `promise` (fails when it resolves). */
async function rejection(promise) {
  return promise.then(
    (value) => assert.fail(`expected a rejection, got ${JSON.stringify(value)}`),
    (error) => error,
  );
}

/** The match `matchId` as the client lists it among the open ones (paging through them). */
async function listedOpen(client, matchId) {
  for (let offset = 0; ; offset += 100) {
    const { items } = await client.listMatches({ state: 2, offset, limit: 100 });
    const found = items.find((m) => m.match_id === matchId);
    if (found || items.length < 100) return found;
  }
}

function liveTests() {
  const proxies = [];
  const proxy = async () => {
    const p = await tcpProxy(WS_URL);
    proxies.push(p);
    return p;
  };
  /** A client connected through a proxy the test can cut, with its frames recorded. */
  const throughProxy = async () => {
    const p = await proxy();
    const wire = recorder();
    const c = await connect(p.url, { WebSocket: wire.WebSocket });
    return { p, wire, c };
  };
  after(async () => {
    closeAll();
    await Promise.all(proxies.map((p) => p.close()));
  });

  test("signs up and logs in: the token is kept and announced; profile, balance, ledger and ping answer", async () => {
    const c = await connect();
    const announced = nextEvent(c, "token");
    const player = await newPlayer(c);
    assert.match(player.token, /^[0-9a-f]{64}$/);
    assert.equal(await announced, player.token);
    assert.equal(c.token, player.token);
    assert.equal(c.state, "open");
    assert.deepEqual(await c.balance(), { balance: player.balance });
    assert.ok(player.balance > 0, "the sign-up grant");
    const profile = await c.profile();
    assert.deepEqual([profile.user_id, profile.username], [player.user_id, player.username]);
    const { items } = await c.ledger({ limit: 5 });
    assert.deepEqual(
      items.map((i) => [i.reason, i.delta, i.balance]),
      [["signup", player.balance, player.balance]],
    );
    assert.equal(typeof (await c.ping()).ts, "number");
  });

  test("bets on a match made through gm, then is pushed its state, the settlement (901) and the payout (904)", async () => {
    const match = await openMatch();
    const c = await connect();
    const player = await newPlayer(c);
    const listed = await listedOpen(c, match.match_id);
    assert.ok(listed, "the open match is listed");
    assert.deepEqual(await c.matchDetail(match.match_id), listed);
    assert.deepEqual(
      listed.options.map((o) => [o.key, o.odds]),
      [
        ["a", 1850],
        ["b", 2100],
      ],
    );
    const placed = await c.placeBet({ match_id: match.match_id, option: "a", stake: 100, odds_ver: listed.odds_ver });
    assert.match(String(placed.req_id), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, "a UUID v4 req_id");
    assert.deepEqual([placed.balance, placed.odds], [player.balance - 100, 1850]);
    assert.deepEqual(
      (await c.myBets()).items.map((b) => [b.bet_id, b.state, b.stake]),
      [[placed.bet_id, "open", 100]],
    );

    const live = nextEvent(c, "match_state", (p) => p.match_id === match.match_id && p.state === 1);
    const settled = nextEvent(c, "bet_settled", (p) => p.bet_id === placed.bet_id);
    const paid = nextEvent(c, "balance", (p) => p.reason === "payout");
    const raw = nextEvent(c, "push", (p) => p.id === MsgId.PUSH_BET_SETTLED);
    await gm("POST", `/api/matches/${match.match_id}/start`, {});
    assert.deepEqual(await live, { match_id: match.match_id, market_id: match.match_id, state: 1 });
    await gm("POST", `/api/matches/${match.match_id}/result`, { winner: "a" });

    const after = player.balance - 100 + 185; // floor(100 × 1.85)
    assert.deepEqual(await settled, {
      bet_id: placed.bet_id,
      match_id: match.match_id,
      market_id: match.match_id,
      result: "won",
      payout: 185,
      balance: after,
    });
    assert.deepEqual(await paid, { balance: after, reason: "payout" });
    assert.deepEqual((await raw).body, await settled);
    assert.deepEqual(await c.balance(), { balance: after });
    const bet = await c.betDetail(placed.bet_id);
    assert.deepEqual([bet.state, bet.payout], ["won", 185]);
  });

  test("a won bet puts the player on the all-time net winnings board, with their own place, under their nickname", async () => {
    const match = await openMatch();
    const c = await connect();
    const player = await newPlayer(c);
    const nickname = `Ace ${player.user_id}`;
    assert.equal((await c.setProfile({ nickname })).nickname, nickname);
    assert.equal((await c.profile()).nickname, nickname);
    await c.placeBet({ match_id: match.match_id, option: "b", stake: 100, odds_ver: match.odds_ver });
    const settled = nextEvent(c, "bet_settled");
    await gm("POST", `/api/matches/${match.match_id}/start`, {});
    await gm("POST", `/api/matches/${match.match_id}/result`, { winner: "b" });
    await settled;
    const board = await c.leaderboard({ board: "net", period: "all", limit: 5 });
    assert.equal(board.period, "all");
    assert.deepEqual([board.me?.user_id, board.me?.name, board.me?.score], [player.user_id, nickname, 110]); // 210 − 100; the nickname shown
    assert.ok(board.items.length >= 1 && board.items[0].rank === 1);
    await assert.rejects(c.leaderboard({ board: "money" }), (e) => e instanceof MatchdayError && e.code === ErrorCode.INVALID_BODY);
  });

  test("sessions are listed and ended; a password change ends the others and this connection goes on", async () => {
    const phone = await connect();
    const player = await newPlayer(phone);
    const tablet = await connect();
    await tablet.login(player.username, player.password);
    const laptop = await connect();
    await laptop.login(player.username, player.password);
    const { items } = await phone.listSessions();
    assert.equal(items.length, 3);
    assert.equal(items.filter((s) => s.current).length, 1);
    const other = items.find((s) => !s.current);
    assert.deepEqual(await phone.revokeSession({ session_id: other.session_id }), { revoked: 1 });
    assert.equal((await phone.listSessions()).items.length, 2);
    assert.deepEqual(await phone.changePassword(player.password, "n3w-s3cret-pass"), { revoked: 1 });
    assert.deepEqual((await phone.listSessions()).items.map((s) => s.current), [true]);
    assert.deepEqual(await phone.balance(), { balance: player.balance });
    const again = await connect();
    await assert.rejects(again.login(player.username, player.password), (e) => e instanceof MatchdayError && e.code === ErrorCode.BAD_CREDENTIALS);
    assert.equal((await again.login(player.username, "n3w-s3cret-pass")).user_id, player.user_id);
  });

  test("a guest plays on a device, links a name keeping its coins, and closes the account", async () => {
    const deviceId = randomBytes(16).toString("hex");
    const phone = await connect();
    const guest = await phone.guestLogin(deviceId);
    assert.equal(phone.token, guest.token);
    assert.equal((await phone.profile()).guest, true);
    const username = `ts_${randomBytes(5).toString("hex")}`;
    assert.deepEqual(await phone.linkAccount(username, "s3cret-pass"), { user_id: guest.user_id, username });
    const linked = await rejection(phone.linkAccount(`${username}x`, "s3cret-pass"));
    assert.equal(linked.code, ErrorCode.ALREADY_LINKED);
    const laptop = await connect();
    assert.deepEqual(
      [(await laptop.login(username, "s3cret-pass")).user_id, (await laptop.balance()).balance],
      [guest.user_id, guest.balance],
    );
    const wrong = await rejection(phone.deleteAccount({ password: "not-it" }));
    assert.equal(wrong.code, ErrorCode.BAD_CREDENTIALS);
    assert.deepEqual(await phone.deleteAccount({ password: "s3cret-pass" }), { forfeited: guest.balance });
    assert.equal(phone.token, undefined);
    const again = await connect();
    const gone = await rejection(again.login(username, "s3cret-pass"));
    assert.equal(gone.code, ErrorCode.BAD_CREDENTIALS);
  });

  test("a notice for this player arrives live and waits on the board until marked read", async () => {
    const c = await connect();
    const player = await newPlayer(c);
    const pushed = nextEvent(c, "announcement", (a) => a.notice_id !== undefined && a.text === "Your prize is on its way");
    const notice = await gm("POST", "/api/notices", { title: "Prize", text: "Your prize is on its way", target: "user", target_id: player.user_id });
    assert.deepEqual([(await pushed).notice_id, (await pushed).title], [notice.id, "Prize"]);
    const board = await c.listNotices();
    const mine = board.items.find((n) => n.notice_id === notice.id);
    assert.equal(mine.read, false);
    assert.ok(board.unread >= 1);
    const { unread } = await c.markNoticesRead([notice.id]);
    assert.equal(unread, board.unread - 1);
    assert.equal((await c.listNotices()).items.find((n) => n.notice_id === notice.id).read, true);
  });

  test("a subscriber hears when the match opens for bets", async () => {
    const match = await gm("POST", "/api/matches", {
      type: "lol", title: "Subscribed vs Reserved", teams: ["S", "R"], start_at: Date.now() + 3_600_000,
      options: [{ key: "s", label: "S", odds: 1900 }, { key: "r", label: "R", odds: 1900 }], min_stake: 10, max_stake: 1000,
    });
    await gm("POST", `/api/matches/${match.match_id}/approve`, {});
    const c = await connect();
    await newPlayer(c);
    assert.deepEqual(await c.registerDevice("fcm", `ts-token-${randomBytes(4).toString("hex")}`), { devices: 1 });
    assert.deepEqual(await c.subscribeMatch(match.match_id), { match_id: match.match_id, subscribed: true });
    const opened = nextEvent(c, "match_event", (e) => e.match_id === match.match_id);
    await gm("POST", `/api/matches/${match.match_id}/open`, {});
    assert.deepEqual(await opened, { match_id: match.match_id, event: "open", title: "Subscribed vs Reserved" });
  });

  test("a player sets a new password with a code from support", async () => {
    const c = await connect();
    const player = await newPlayer(c);
    const { code } = await gm("POST", `/api/users/${player.user_id}/password-reset`);
    const fresh = await connect();
    const bad = await rejection(fresh.resetPassword(player.username, "AAAA-BBBB-CCCC", "n3w-s3cret-pass"));
    assert.equal(bad.code, ErrorCode.BAD_CREDENTIALS);
    assert.deepEqual(await fresh.resetPassword(player.username, code, "n3w-s3cret-pass"), { user_id: player.user_id, revoked: 1 });
    assert.equal((await fresh.login(player.username, "n3w-s3cret-pass")).user_id, player.user_id);
  });

  test("uploads an avatar", async () => {
    const c = await connect();
    const player = await newPlayer(c);
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    const profile = await c.uploadAvatar("image/png", png);
    assert.match(profile.avatar_url, new RegExp(`/${player.user_id}-[0-9a-f]{16}\\.png$`));
    const refused = await rejection(c.uploadAvatar("image/jpeg", png));
    assert.equal(refused.code, ErrorCode.INVALID_BODY);
  });

  test("watches a match: an edit made through gm arrives as match_updated with the match at its new version", async () => {
    const match = await openMatch();
    const c = await connect();
    await newPlayer(c);
    await c.watchMatch(match.match_id);
    const updated = nextEvent(c, "match_updated", (m) => m.match_id === match.match_id);
    const edited = await gm("PATCH", `/api/matches/${match.match_id}`, { title: "TypeScript vs Rust (final)" });
    const pushed = await updated;
    assert.deepEqual([pushed.title, pushed.ver], ["TypeScript vs Rust (final)", edited.ver]);
    assert.deepEqual(
      pushed.markets.map((m) => m.market_id),
      [match.match_id],
      "the default market is the match",
    );
    const nowhere = await rejection(c.watchMatch(2 ** 40));
    assert.deepEqual([nowhere.code, nowhere.name], [ErrorCode.NOT_FOUND, "not_found"]);
    await c.watchMatch(match.match_id, false);
  });

  test("a refused call rejects with MatchdayError: code, name, message and the code's typed body", async () => {
    const match = await openMatch();
    const moved = await gm("PUT", `/api/matches/${match.match_id}/odds`, { options: [{ key: "b", odds: 1600 }] });
    assert.equal(moved.odds_ver, match.odds_ver + 1);
    const c = await connect();
    const player = await newPlayer(c);
    const bet = { match_id: match.match_id, option: "b", stake: 50, odds_ver: match.odds_ver };

    const stale = await rejection(c.placeBet(bet));
    assert.ok(stale instanceof MatchdayError);
    assert.deepEqual([stale.code, stale.name, stale.message, stale.msgId], [ErrorCode.ODDS_CHANGED, "odds_changed", "odds changed", 401]);
    assert.ok(stale.is(ErrorCode.ODDS_CHANGED) && !stale.is(ErrorCode.INSUFFICIENT_BALANCE));
    assert.equal(stale.retryable, false);
    assert.equal(stale.body.odds_ver, moved.odds_ver);
    assert.deepEqual(
      stale.body.options.map((o) => [o.key, o.odds]),
      [
        ["a", 1850],
        ["b", 1600],
      ],
    );
    const placed = await c.placeBet({ ...bet, odds_ver: stale.body.odds_ver });
    assert.deepEqual([placed.odds, placed.balance], [1600, player.balance - 50]);

    const poor = await rejection(c.placeBet({ ...bet, odds_ver: moved.odds_ver, stake: player.balance }));
    assert.deepEqual([poor.code, poor.name], [ErrorCode.INSUFFICIENT_BALANCE, "insufficient_balance"]);
    const nowhere = await rejection(c.matchDetail(2 ** 40));
    assert.deepEqual([nowhere.code, nowhere.name], [ErrorCode.NOT_FOUND, "not_found"]);
    const wrong = await rejection(c.login(player.username, "not-the-password"));
    assert.deepEqual([wrong.code, wrong.name], [ErrorCode.BAD_CREDENTIALS, "bad_credentials"]);
    const anonymous = await connect();
    const notIn = await rejection(anonymous.balance());
    assert.deepEqual([notIn.code, notIn.name, notIn.msgId], [ErrorCode.NOT_LOGGED_IN, "not_logged_in", 202]);
    assert.deepEqual(await c.balance(), { balance: player.balance - 50 }, "only the bet placed was debited");
  });

  test("a drop with a bet in flight that never reached the server: reconnects, resumes (a new token), sends it again, debited once", async () => {
    const match = await openMatch();
    const { p, wire, c } = await throughProxy();
    const player = await newPlayer(c);
    const disconnected = nextEvent(c, "disconnected");
    const reconnected = nextEvent(c, "reconnected");
    const rotated = nextEvent(c, "token");

    const held = p.hold();
    const bet = c.placeBet({ match_id: match.match_id, option: "b", stake: 10, odds_ver: match.odds_ver });
    await held; // the bet is on its way, and will not arrive
    p.cut();
    assert.equal((await disconnected).code, 1006);
    assert.deepEqual(await reconnected, { resumed: true });
    const token = await rotated;
    assert.notEqual(token, player.token);
    assert.equal(c.token, token);
    const placed = await bet;

    const sent = wire.sent(MsgId.PLACE_BET);
    assert.deepEqual(
      sent.map((f) => f.socket),
      [1, 2],
      "sent on the first connection, then again on the second",
    );
    assert.deepEqual(sent[1].body, sent[0].body);
    assert.equal(sent[1].body.req_id, placed.req_id);
    const second = wire.frames.filter((f) => f.socket === 2).map((f) => f.head.id);
    assert.deepEqual(second.slice(0, 2), [MsgId.RESUME, MsgId.PLACE_BET], "the resume first, then the bet");
    assert.deepEqual(wire.sent(MsgId.RESUME)[0].body, { token: player.token });

    assert.deepEqual(await c.balance(), { balance: player.balance - 10 });
    assert.deepEqual(
      (await c.myBets()).items.map((b) => b.bet_id),
      [placed.bet_id],
    );
    assert.deepEqual(await serverBets(player.user_id, placed.req_id), [placed.bet_id]);
  });

  test("a drop after the server placed the bet but before its reply came: the bet sent again gets the first reply, debited once", async () => {
    const match = await openMatch();
    const { p, wire, c } = await throughProxy();
    const player = await newPlayer(c);
    const reconnected = nextEvent(c, "reconnected");
    const rotated = nextEvent(c, "token");

    p.swallow();
    const req_id = `ts-${randomBytes(8).toString("hex")}`;
    const bet = c.placeBet({ match_id: match.match_id, option: "a", stake: 10, odds_ver: match.odds_ver, req_id });
    const [onServer] = await until("the server placed the bet", async () => {
      const placed = await serverBets(player.user_id, req_id);
      return placed.length > 0 && placed;
    });
    p.cut();
    assert.deepEqual(await reconnected, { resumed: true });
    assert.notEqual(await rotated, player.token);
    const placed = await bet;

    assert.equal(placed.req_id, req_id);
    assert.equal(placed.bet_id, onServer, "the first reply, for the bet placed before the drop");
    assert.deepEqual(
      wire.sent(MsgId.PLACE_BET).map((f) => [f.socket, f.body.req_id]),
      [
        [1, req_id],
        [2, req_id],
      ],
    );
    assert.deepEqual(await c.balance(), { balance: player.balance - 10 });
    assert.deepEqual(
      (await c.myBets()).items.map((b) => b.bet_id),
      [placed.bet_id],
    );
    assert.deepEqual(await serverBets(player.user_id, req_id), [placed.bet_id]);
  });

  test("a drop fails the requests in flight that are not safe to repeat; calls made while reconnecting wait for the resume", async () => {
    const { p, wire, c } = await throughProxy();
    const player = await newPlayer(c);
    const disconnected = nextEvent(c, "disconnected");
    const reconnected = nextEvent(c, "reconnected");

    const held = p.hold();
    const login = c.login(player.username, player.password);
    const read = c.balance();
    await held;
    p.park();
    p.cut();
    await disconnected;
    const failed = await rejection(login);
    assert.ok(failed instanceof DisconnectedError);
    assert.equal(failed.msgId, MsgId.LOGIN);
    assert.equal(c.state, "connecting");
    // One call while there is no connection, one while the resume is on its way (sent before the
    // resume's reply, it would be answered 4: not logged in).
    const early = c.profile();
    let during;
    wire.onSend = (frame) => {
      if (frame.head.id === MsgId.RESUME) during = c.ledger({ limit: 1 });
    };
    p.release();

    assert.deepEqual(await reconnected, { resumed: true });
    assert.deepEqual(await read, { balance: player.balance });
    assert.equal((await early).user_id, player.user_id);
    assert.ok(during, "a call was made while the resume was on its way");
    assert.equal((await during).items[0].reason, "signup");
    assert.deepEqual(
      wire.frames.filter((f) => f.socket === 2).map((f) => f.head.id),
      [MsgId.RESUME, MsgId.BALANCE, MsgId.PROFILE, MsgId.LEDGER],
      "the resume, then the read in flight and the calls that waited, oldest first; not the login",
    );
  });

  test("a session that cannot be resumed: session_expired, the calls waiting for it rejected, and a login works again", async () => {
    const p = await proxy();
    const c = await connect(p.url);
    const player = await newPlayer(c);
    const disconnected = nextEvent(c, "disconnected");
    p.park();
    p.cut();
    await disconnected;
    // Elsewhere, the token is resumed (and so rotated): the client's own is dead.
    const elsewhere = await connect();
    await elsewhere.resume(player.token);
    elsewhere.close();

    const expired = nextEvent(c, "session_expired");
    const reconnected = nextEvent(c, "reconnected");
    const waiting = c.balance();
    p.release();
    const error = await expired;
    assert.deepEqual([error.code, error.name, error.msgId], [ErrorCode.SESSION_EXPIRED, "session_expired", MsgId.RESUME]);
    assert.deepEqual(await reconnected, { resumed: false });
    assert.equal(await rejection(waiting), error);
    assert.equal(c.token, undefined);
    assert.equal(c.state, "open");

    // Logged out now, a drop does not reconnect; the next call (a login) does.
    const dropped = nextEvent(c, "disconnected");
    p.cut();
    await dropped;
    assert.equal(c.state, "idle");
    const session = await c.login(player.username, player.password);
    assert.equal(c.token, session.token);
    assert.equal(c.state, "open");
    assert.deepEqual(await c.balance(), { balance: player.balance });
  });

  test("a ban closes the connection: session_expired (1009), no resume, and a login is refused with 1009", async () => {
    const c = await connect();
    const player = await newPlayer(c);
    const disconnected = nextEvent(c, "disconnected");
    const expired = nextEvent(c, "session_expired");
    const ban = await gm("POST", `/api/users/${player.user_id}/ban`, { reason: "TypeScript client test" });
    assert.equal(ban.connections_closed, 1);
    assert.deepEqual(await disconnected, { code: 1008, reason: "banned" });
    const error = await expired;
    assert.deepEqual([error.code, error.name], [ErrorCode.ACCOUNT_BANNED, "account_banned"]);
    assert.equal(c.token, undefined);
    assert.equal(c.state, "idle");

    const refused = await rejection(c.login(player.username, player.password));
    assert.deepEqual([refused.code, refused.name], [ErrorCode.ACCOUNT_BANNED, "account_banned"]);
    assert.equal(c.state, "open", "the login connected again");
  });

  test("not logged in when the connection drops: reconnects without a resume", async () => {
    const { p, wire, c } = await throughProxy();
    const reconnected = nextEvent(c, "reconnected");
    p.cut();
    assert.deepEqual(await reconnected, { resumed: false });
    assert.equal(typeof (await c.ping()).ts, "number");
    const player = await newPlayer(c);
    assert.equal(c.token, player.token);
    assert.equal(p.accepted, 2);
    assert.deepEqual(wire.sent(MsgId.RESUME), []);
  });

  test("reconnect: false: a drop fails the waiting requests and closes the client", async () => {
    const p = await proxy();
    const c = await connect(p.url, { reconnect: false });
    const player = await newPlayer(c);
    const held = p.hold();
    const read = c.balance();
    await held;
    p.cut();
    const failed = await rejection(read);
    assert.ok(failed instanceof DisconnectedError);
    assert.equal(c.state, "closed");
    assert.ok((await rejection(c.ping())) instanceof DisconnectedError);
    assert.equal(c.token, player.token, "the token stays readable, to resume on a new client");
  });

  test("no reply in time rejects with TimeoutError; close() rejects what waits and every later call", async () => {
    const p = await proxy();
    const c = await connect(p.url, { requestTimeoutMs: 2000 });
    const held = p.hold();
    const late = c.ping();
    await held;
    const timedOut = await rejection(late);
    assert.ok(timedOut instanceof TimeoutError);
    assert.deepEqual([timedOut.msgId, timedOut.timeoutMs], [MsgId.PING, 2000]);

    const waiting = c.ping();
    c.close();
    assert.ok((await rejection(waiting)) instanceof DisconnectedError);
    assert.equal(c.state, "closed");
    assert.ok((await rejection(c.profile())) instanceof DisconnectedError);
  });

  test("JSON text frames: the same calls and errors", async () => {
    const wire = recorder();
    const c = await connect(WS_URL, { format: "json", WebSocket: wire.WebSocket, version: "ts-test/1" });
    const notIn = await rejection(c.profile());
    assert.deepEqual([notIn.code, notIn.name], [ErrorCode.NOT_LOGGED_IN, "not_logged_in"]);
    const player = await newPlayer(c);
    assert.deepEqual(await c.balance(), { balance: player.balance });
    assert.ok(wire.frames.length >= 4);
    assert.ok(
      wire.frames.every((f) => f.text && f.head.ver === "ts-test/1"),
      "every frame is a text message with the version in its head",
    );
  });
}
