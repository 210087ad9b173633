import { readFile, writeFile } from "node:fs/promises";
import WebSocket from "ws"; // Node 20 has no global WebSocket; in browsers and Node ≥ 22 leave it out
import { ErrorCode, MatchdayClient, MatchdayError } from "@matchday/client";

const TOKEN_FILE = "matchday-token.txt";
const client = await MatchdayClient.connect("ws://127.0.0.1:7001/ws", { WebSocket });

// Pushes, and what happens to the connection and the session.
client.on("token", (token) => void writeFile(TOKEN_FILE, token)); // login and every resume rotate it
client.on("bet_settled", (p) => console.log(`bet ${p.bet_id} ${p.result}: +${p.payout}, balance ${p.balance}`));
client.on("balance", (p) => console.log(`balance ${p.balance} (${p.reason})`));
client.on("announcement", (p) => console.log(`news: ${p.text}`));
client.on("disconnected", ({ code }) => console.log(`connection lost (${code}): reconnecting`));
client.on("reconnected", ({ resumed }) => console.log(resumed ? "back, session resumed" : "back, logged out"));
client.on("session_expired", (e) => console.log(`session gone (${e.name}): log in again`));

// Resume the saved session; else sign up (once) and log in.
const saved = await readFile(TOKEN_FILE, "utf8").catch(() => undefined);
const resumed = saved ? await client.resume(saved).catch(() => undefined) : undefined;
if (!resumed) {
  await client.register("neo", "s3cret-pass").catch((e) => {
    if (!(e instanceof MatchdayError && e.is(ErrorCode.USERNAME_TAKEN))) throw e;
  });
  await client.login("neo", "s3cret-pass");
}

// Bet 100 coins on the first option of the first open match.
const { items } = await client.listMatches({ state: 2 });
const match = items[0];
if (match) {
  const bet = { match_id: match.match_id, option: match.options[0].key, stake: 100, odds_ver: match.odds_ver };
  try {
    const placed = await client.placeBet(bet);
    console.log(`bet ${placed.bet_id} at ${placed.odds / 1000}, balance ${placed.balance}`);
  } catch (e) {
    if (!(e instanceof MatchdayError && e.is(ErrorCode.ODDS_CHANGED))) throw e;
    // The odds moved: the error's body has the new ones (show them; here, take them).
    const placed = await client.placeBet({ ...bet, odds_ver: e.body.odds_ver });
    console.log(`bet ${placed.bet_id} at the new odds ${placed.odds / 1000}`);
  }
}
