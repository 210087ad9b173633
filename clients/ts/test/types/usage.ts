// What the public types accept and refuse: `tsc` fails on a line marked @ts-expect-error that
// compiles, and on any other line that does not.
import WebSocket from "ws";
import {
  ErrorCode,
  MatchdayClient,
  MatchdayError,
  MsgId,
  type BetSettledPush,
  type ErrorBody,
  type OddsChanged,
  type PlacedBet,
  type Requests,
} from "@matchday/client";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function same<T extends true>(): T | void {}

// The WebSocket classes of `ws` (Node 20) and of the browser both fit; other classes do not.
void MatchdayClient.connect("ws://127.0.0.1:7001/ws", { WebSocket });
void MatchdayClient.connect("ws://127.0.0.1:7001/ws", { WebSocket: globalThis.WebSocket });
// @ts-expect-error: not a WebSocket class
void MatchdayClient.connect("ws://127.0.0.1:7001/ws", { WebSocket: Date });
// @ts-expect-error: no such format
void MatchdayClient.connect("ws://127.0.0.1:7001/ws", { format: "xml" });

declare const client: MatchdayClient;

// call() is typed by the request map.
const reply = client.call(MsgId.PLACE_BET, { match_id: 1, option: "a", stake: 10, odds_ver: 1, req_id: "r-1" });
same<Equal<Awaited<typeof reply>, Requests[401]["reply"]>>();
// @ts-expect-error: the raw request needs its req_id
void client.call(MsgId.PLACE_BET, { match_id: 1, option: "a", stake: 10, odds_ver: 1 });
// @ts-expect-error: a push is not a request
void client.call(MsgId.PUSH_BET_SETTLED, {});
// @ts-expect-error: a body of the wrong shape
void client.call(MsgId.MATCH_DETAIL, { match: 1 });

// placeBet makes the req_id and returns it.
const placed = client.placeBet({ match_id: 1, option: "a", stake: 10, odds_ver: 1 });
same<Equal<Awaited<typeof placed>, PlacedBet>>();
same<Equal<Awaited<ReturnType<MatchdayClient["balance"]>>["balance"], number>>();

// Push events carry their bodies; the client's own events theirs.
client.on("bet_settled", (p) => same<Equal<typeof p, BetSettledPush>>());
client.on("push", (p) => same<Equal<typeof p, { id: number; body: unknown }>>());
client.on("token", (t) => same<Equal<typeof t, string>>());
client.on("session_expired", (e) => same<Equal<typeof e, MatchdayError>>());
// @ts-expect-error: no such event
client.on("bet_placed", () => {});
// @ts-expect-error: a balance push has no payout
client.on("balance", (p) => p.payout);

// An error's body is typed once its code is known.
declare const e: unknown;
if (e instanceof MatchdayError) {
  same<Equal<typeof e.body, ErrorBody>>();
  if (e.is(ErrorCode.ODDS_CHANGED)) {
    const odds: OddsChanged = e.body;
    same<Equal<typeof e.body.odds_ver, number>>();
    void odds;
  } else if (e.is(ErrorCode.RATE_LIMITED)) {
    same<Equal<typeof e.body.retry_after_s, number | null | undefined>>();
  }
  // @ts-expect-error: only a 1005's body has the odds
  void e.body.options;
  // @ts-expect-error: 0 is no error code
  e.is(ErrorCode.OK);
}
