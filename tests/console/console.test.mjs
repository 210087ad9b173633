// The staff console in a real browser (headless Debian chromium, driven by playwright-core).
// tests/console.rs starts gm with the rest of the stack, runs this script, and places bets with
// WebSocket clients once the match it opens is open. Environment:
//   GM_URL        gm's base address, e.g. http://127.0.0.1:7002
//   ADMIN_TOKEN   a staff token with the admin role;  VIEWER_TOKEN  one with the viewer role
//   STAFF_NAME, STAFF_PASSWORD, STAFF_CODE   a personal admin account, and a TOTP code of it
//                 not used yet (the console signs in with them, as a person does)
//   SHOTS         a directory for the screenshots of each page
//   CHROMIUM      the browser (default /usr/bin/chromium)
// Prints "OPEN <match id>" once betting is open (the Rust side then places bets) and
// "SETTLED <match id>" at the end; exits non-zero with the reason on any failure.
import { chromium } from "playwright-core";
import { mkdirSync, readFileSync } from "node:fs";

const { GM_URL, ADMIN_TOKEN, VIEWER_TOKEN, SHOTS, STAFF_NAME, STAFF_PASSWORD, STAFF_CODE } = process.env;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const BETS = Number(process.env.BETS || "3");
const WAIT = 30_000;
mkdirSync(SHOTS, { recursive: true });

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const dialogs = [];
  page.on("dialog", (d) => { dialogs.push(d.message()); d.accept(); });
  const shot = (name) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });

  // Sign in: a wrong token is refused in words; so is a wrong TOTP code; the personal account's
  // name, password and current code are accepted.
  await page.goto(`${GM_URL}/`);
  await page.fill("#signin input[name=token]", "not-a-token");
  await page.click("#signin button");
  await page.waitForSelector("#error:not([hidden])");
  check((await page.textContent("#error")).includes("token was not accepted"), "a bad token is explained");
  await shot("01-sign-in-refused");
  const wrong = STAFF_CODE === "000000" ? "111111" : "000000";
  await page.fill("#signin-account input[name=name]", STAFF_NAME);
  await page.fill("#signin-account input[name=password]", STAFF_PASSWORD);
  await page.fill("#signin-account input[name=code]", wrong);
  await page.click("#signin-account button");
  await page.waitForSelector("#error:has-text('code was not accepted')");
  check(await page.$("#who:has-text('admin')") === null, "a wrong code signs nobody in");
  await page.fill("#signin-account input[name=name]", STAFF_NAME);
  await page.fill("#signin-account input[name=password]", STAFF_PASSWORD);
  await page.fill("#signin-account input[name=code]", STAFF_CODE);
  await page.click("#signin-account button");
  await page.waitForSelector(`#who:has-text('${STAFF_NAME} (admin)')`);
  check((await page.evaluate(() => sessionStorage.getItem("md.token"))).startsWith("mds_"), "the console holds a session token");
  await shot("02-matches-empty");

  // 25 matches made beforehand: a page of 20, the next page the other 5, and a search.
  const rows = () => page.$$eval("#match-list tbody tr", (trs) => trs.map((tr) => tr.children[1].textContent));
  await page.waitForSelector("#match-list tbody tr");
  check((await rows()).length === 20, "a page holds 20 matches");
  check(await page.isDisabled("#prev"), "no page before the first");
  await page.click("#next");
  await page.waitForSelector("#page-range:has-text('21–25')");
  check((await rows()).length === 5 && (await page.isDisabled("#next")), "the second page holds the other 5, and is the last");
  await page.fill("#filter input[name=q]", "filler 07");
  await page.click("#filter button");
  await page.waitForFunction(() => document.querySelectorAll("#match-list tbody tr").length === 1);
  check((await rows())[0] === "Filler 07", "the search finds the one match");
  await page.goto(`${GM_URL}/#/matches`);
  await page.waitForFunction(() => document.querySelectorAll("#match-list tbody tr").length === 20);

  // Create a match, approve it, open betting: only allowed actions are offered.
  await page.fill("#create input[name=title]", "Console Cup Final");
  await page.fill("#create input[name=team_a]", "Blue");
  await page.fill("#create input[name=team_b]", "Red");
  await page.click("#create button[type=submit]");
  await page.waitForSelector("h1 [data-state=pending], #error:not([hidden])");
  check(await page.isHidden("#error"), `the match was created: ${await page.textContent("#error")}`);
  await page.waitForSelector("h1 [data-state=pending]");
  const mid = Number((await page.textContent("h1")).match(/#(\d+)/)[1]);
  check(await page.isVisible("#actions button[data-action=approve]"), "approve is offered for a pending match");
  check(!(await page.isVisible("#actions button[data-action=open]")), "open is not offered before approval");
  await shot("03-match-pending");
  await page.click("#actions button[data-action=approve]");
  await page.waitForSelector("h1 [data-state=not_started]");
  await page.click("#actions button[data-action=open]");
  await page.waitForSelector("h1 [data-state=open]");
  console.log(`OPEN ${mid}`);

  // Bets placed by WebSocket clients appear in the pool (the page refreshes itself).
  await page.waitForFunction((n) => Number(document.querySelector("#bet-count")?.textContent) >= n, BETS, { timeout: WAIT });
  check(Number(await page.textContent("#pool-total")) > 0, "the pool shows the stakes");
  await shot("04-match-open-with-bets");

  // Odds being typed survive the live refresh: three refresh periods pass, the page says it is
  // paused, the typed value stays; saving it changes the odds version.
  const ticks = async () => Number((await page.getAttribute("#main", "data-ticks")) || 0);
  await page.fill("#odds input[name=odds_a]", "1.777");
  const typedAt = await ticks();
  await page.waitForFunction((t) => Number(document.getElementById("main").dataset.ticks || 0) >= t + 3, typedAt, { timeout: WAIT });
  check((await page.inputValue("#odds input[name=odds_a]")) === "1.777", "the typed odds survived three refresh periods");
  check(await page.isVisible("#paused"), "the page says the refresh is paused");
  await shot("04b-odds-being-edited");
  await page.click("#odds button[type=submit]");
  await page.waitForSelector(".card:has-text('odds version 2')");
  check((await page.inputValue("#odds input[name=odds_a]")) === "1.777", "the saved odds are shown");

  // A market added from the page, then opened.
  await page.fill("#add-market input[name=name]", "First blood");
  await page.click("#add-market button[type=submit]");
  const market = "#markets tr:has-text('First blood')";
  await page.waitForSelector(`${market} button[data-market-action=open]`);
  await page.click(`${market} button[data-market-action=open]`);
  await page.waitForSelector(`${market} [data-state=open]`);
  await shot("04c-markets");

  // Start, then set the result (confirmed), and see settlement finish.
  await page.click("#actions button[data-action=start]");
  await page.waitForSelector("h1 [data-state=betting_stopped]");
  // A data feed reports the winner (as datacenter does, through the API): staff confirm it with one click.
  check(await page.isVisible("#result select[name=winner]"), "the result form is offered");
  await page.evaluate(async ([url, token, id]) => {
    const res = await fetch(`${url}/api/matches/${id}`, {
      method: "PATCH", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ feed_result: "a" }),
    });
    if (!res.ok) throw new Error(`PATCH feed_result: ${res.status} ${await res.text()}`);
  }, [GM_URL, ADMIN_TOKEN, mid]);
  await page.waitForSelector("#feed-result:has-text('a (Team A wins) wins')");
  await page.click("#feed-result button");
  await page.waitForSelector("h1 [data-state=credited]", { timeout: WAIT });
  check(dialogs.some((m) => m.includes("Confirm the feed's result: a wins")), "the result was confirmed first");
  check((await page.textContent("#settlement")).includes(`${BETS} of ${BETS} bets settled`), "settlement finished");
  await shot("05-match-settled");

  // A player found by name (from the MySQL record): balance, bets, ledger; taking coins back asks first.
  await page.goto(`${GM_URL}/#/users`);
  await page.fill("#find input[name=q]", "FAN0");
  await page.click("#find button");
  await page.waitForFunction(() => document.querySelectorAll("#user-list tbody tr").length === 1);
  await page.click("#user-list tbody tr");
  await page.waitForSelector("#user h2:has-text('fan0')");
  check((await page.$$("#bet-list tbody tr")).length === 1, "the player's bet is listed");
  const before = Number(await page.textContent("#balance"));
  await page.fill("#grant input[name=amount]", "-5");
  await page.fill("#grant input[name=reason]", "console test correction");
  await page.click("#grant button");
  await page.waitForSelector("#notice:not([hidden])");
  check(dialogs.some((m) => m.includes("Take 5 coins")), "a negative grant was confirmed first");
  check(Number(await page.textContent("#balance")) === before - 5, "the balance shows the change");
  await shot("06-user");

  // A double-clicked grant grants once (one request id per form, the button disabled meanwhile).
  const uid = Number((await page.textContent("#user h2")).match(/#(\d+)/)[1]);
  await page.fill("#grant input[name=amount]", "7");
  await page.fill("#grant input[name=reason]", "console double click");
  await page.dblclick("#grant button");
  // The first grant's notice is still up ("the balance is now ..."): wait for this one's balance.
  await page.waitForSelector(`#notice:has-text('balance is now ${before - 5 + 7}.')`);
  const user = await page.evaluate(async ([url, token, id]) => {
    const res = await fetch(`${url}/api/users/${id}`, { headers: { Authorization: `Bearer ${token}` } });
    return res.json();
  }, [GM_URL, ADMIN_TOKEN, uid]);
  const grants = user.recent_ledger.filter((l) => l.reason === "grant" && l.ref.includes("console double click"));
  check(grants.length === 1, `one grant for a double click, found ${grants.length}`);
  check(user.balance === before - 5 + 7, `the balance moved by 7 once: ${user.balance}`);

  // Four eyes: a grant above the threshold is only asked for; the admin who asked cannot approve
  // it (no button, only Withdraw); another admin's request is approved here and granted once.
  await page.fill("#grant input[name=amount]", "200000");
  await page.fill("#grant input[name=reason]", "console big prize");
  await page.click("#grant button");
  await page.waitForSelector("#notice:has-text('another admin must approve')");
  const theirs = await page.evaluate(async ([url, token, id]) => {
    const res = await fetch(`${url}/api/users/${id}/grant`, { method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ amount: 300000, reason: "console approval test" }) });
    return [res.status, await res.json()];
  }, [GM_URL, ADMIN_TOKEN, uid]);
  check(theirs[0] === 202 && theirs[1].state === "pending", `another admin's big grant waits: ${JSON.stringify(theirs)}`);
  await page.goto(`${GM_URL}/#/approvals`);
  await page.waitForSelector(`#approval-list tr[data-id='${theirs[1].id}']`);
  const mine = await page.$$eval("#approval-list tbody tr", (trs, me) => trs.filter((tr) => tr.children[4].textContent === me)
    .map((tr) => [tr.dataset.id, !!tr.querySelector("button.approve"), !!tr.querySelector("button.reject")]), STAFF_NAME);
  check(mine.length === 1 && !mine[0][1] && mine[0][2], `one request of mine, with no Approve button: ${JSON.stringify(mine)}`);
  await shot("06a-approvals");
  await page.click(`#approval-list tr[data-id='${theirs[1].id}'] button.approve`);
  await page.waitForSelector(`#notice:has-text('Approved: the balance is now ${before - 5 + 7 + 300000}.')`);
  check(dialogs.some((m) => m.includes("Grant 300000 coins")), "the approval was confirmed first");
  await page.click(`#approval-list tr[data-id='${mine[0][0]}'] button.reject`);
  await page.waitForSelector("#notice:has-text('nothing was granted')");
  const after = await page.evaluate(async ([url, token, id]) => (await (await fetch(`${url}/api/users/${id}`,
    { headers: { Authorization: `Bearer ${token}` } })).json()).balance, [GM_URL, ADMIN_TOKEN, uid]);
  check(after === before - 5 + 7 + 300000, `the approved grant only, once: ${after}`);

  // Staff: an admin makes an account (its TOTP secret shown once) and an API token for it; disabling
  // the account stops the token at once; the token is revoked.
  await page.goto(`${GM_URL}/#/staff`);
  await page.waitForSelector("#staff-create");
  await page.fill("#staff-create input[name=name]", "zed");
  await page.selectOption("#staff-create select[name=role]", "operator");
  await page.fill("#staff-create input[name=password]", "zed-first-password-1");
  await page.click("#staff-create button");
  await page.waitForSelector("#notice:has-text('Created zed (operator)')");
  check((await page.textContent("#notice")).includes("otpauth://totp/"), "the TOTP secret is shown once");
  await page.waitForSelector("#staff-list tr[data-staff='zed']");
  await page.selectOption("#token-create select[name=owner]", "zed");
  await page.selectOption("#token-create select[name=role]", "viewer");
  await page.click("#token-create button");
  await page.waitForSelector("#notice:has-text('shown once: mdt_')");
  const minted = (await page.textContent("#notice")).match(/(mdt_[0-9a-f]{64})/)[1];
  const whoamiStatus = (token) => page.evaluate(async ([url, t]) =>
    (await fetch(`${url}/api/whoami`, { headers: { Authorization: `Bearer ${t}` } })).status, [GM_URL, token]);
  check(await whoamiStatus(minted) === 200, "the new API token works");
  await shot("06e-staff");
  await page.click("#staff-list tr[data-staff='zed'] button[data-staff-action=toggle]");
  await page.waitForSelector("#notice:has-text('zed is disabled')");
  check(await whoamiStatus(minted) === 401, "disabling zed stops their token at once");
  await page.click("#token-list tbody tr button[data-token-action=revoke]");
  await page.waitForSelector("#notice:has-text('Revoked.')");
  check((await page.$$("#token-list tbody tr")).length === 0, "the revoked token is gone from the list");

  // Users searched and paged, two per page: the three fans, newest first.
  const names = () => page.$$eval("#user-list tbody tr", (trs) => trs.map((tr) => tr.children[1].textContent));
  await page.goto(`${GM_URL}/#/users?q=fan&limit=2`);
  await page.waitForSelector(`#page-range:has-text('1–2 of ${BETS}')`);
  const firstPage = await names();
  await page.click("#next");
  await page.waitForSelector(`#page-range:has-text('3–3 of ${BETS}')`);
  const fans = [...firstPage, ...(await names())].sort();
  check(JSON.stringify(fans) === JSON.stringify(["fan0", "fan1", "fan2"]), `the pages hold every fan once: ${fans}`);
  check(await page.isDisabled("#next"), "the last page");
  await shot("06b-users");

  // Bets of the match, paged; then filtered by state.
  await page.goto(`${GM_URL}/#/bets?match_id=${mid}&limit=2`);
  await page.waitForSelector(`#page-range:has-text('1–2 of ${BETS}')`);
  await page.click("#next");
  await page.waitForFunction(() => document.querySelectorAll("#bet-list tbody tr").length === 1);
  await page.selectOption("#bet-filter select[name=state]", "won");
  await page.click("#bet-filter button");
  await page.waitForSelector("#page-range:has-text('of 2')");
  check((await page.$$eval("#bet-list [data-state]", (p) => p.map((x) => x.textContent))).every((s) => s === "won"), "only won bets");

  // Reports: the last seven days by day, as a table, a chart and a CSV file.
  await page.goto(`${GM_URL}/#/reports`);
  await page.waitForSelector("#report-table tfoot tr");
  const total = await page.$$eval("#report-table tfoot th", (ths) => ths.map((th) => th.textContent));
  check(total[0] === "total" && total[1] === String(BETS) && total[3] === String(100 * BETS), `the totals: ${total}`);
  check((await page.$$("#report-table tbody tr")).length === 7, "a row per day");
  check((await page.$$("#report-chart rect")).length === 14, "two bars per day");
  const [file] = await Promise.all([page.waitForEvent("download"), page.click("#report-csv")]);
  const csv = readFileSync(await file.path(), "utf8").trim().split("\n");
  check(csv[0].startsWith("key,label,bets,bettors,stakes") && csv.length === 9, `the CSV has a header, 7 days and the total: ${csv.length} lines`);
  check(csv[8].startsWith(`total,,${BETS},${BETS},${100 * BETS},`), `the CSV's total: ${csv[8]}`);
  await shot("06c-reports");

  // The audit log of the match, then only its result.
  await page.goto(`${GM_URL}/#/audit?target=match:${mid}`);
  await page.waitForSelector("#audit-list tbody tr");
  const actions = await page.$$eval("#audit-list tbody tr", (trs) => trs.map((tr) => tr.dataset.action));
  check(["match.create", "match.approve", "match.open", "match.start", "match.result"].every((a) => actions.includes(a)), `the match's actions: ${actions}`);
  await page.fill("#audit-filter input[name=action]", "match.result");
  await page.click("#audit-filter button");
  await page.waitForFunction(() => document.querySelectorAll("#audit-list tbody tr").length === 1);
  check((await page.textContent("#audit-list tbody tr")).includes(STAFF_NAME), "the result names the person who set it");
  await shot("06d-audit");

  // An announcement now.
  await page.goto(`${GM_URL}/#/announcements`);
  await page.fill("#announce textarea[name=text]", "Console Cup Final is settled");
  await page.click("#announce button");
  await page.waitForSelector("#notice:has-text('Sent')");
  await shot("07-announcements");

  // A dead record: inspected without its password hash, then requeued.
  await page.goto(`${GM_URL}/#/ops`);
  const deadRow = "#dead tr[data-dead^='q:dead:q:outbox']";
  await page.click(`${deadRow} button[data-dead-action=inspect]`);
  await page.waitForSelector("#dead-entries code");
  const shown = await page.textContent("#dead-entries");
  check(shown.includes("console test: refused") && shown.includes("buried"), "the dead record is shown decoded");
  check(!shown.includes("hidden-hash") && shown.includes("***"), "its password hash is hidden");
  await shot("08b-dead-letters");
  await page.click(`${deadRow} button[data-dead-action=requeue]`);
  await page.waitForSelector("#notice:has-text('Requeued 1 frame')");
  check(dialogs.some((m) => m.includes("Move the oldest frame")), "a requeue is confirmed first");

  // Drain a logic process from the operations page: it answers "draining" (and exits).
  await page.goto(`${GM_URL}/#/ops`);
  await page.click(`button[data-drain-node='${process.env.DRAIN_NODE}'][data-drain-role=logic]`);
  await page.waitForSelector("#notice:has-text('draining')");
  check(dialogs.some((m) => m.startsWith("Drain logic")), "a drain is confirmed first");

  // The other pages.
  for (const [hash, name] of [["#/ops", "08-operations"], ["#/stats", "09-stats"]]) {
    await page.goto(`${GM_URL}/${hash}`);
    await page.waitForSelector("main h1");
    await shot(name);
  }

  // A viewer sees no mutating button.
  const viewer = await (await browser.newContext()).newPage();
  await viewer.goto(`${GM_URL}/`);
  await viewer.fill("#signin input[name=token]", VIEWER_TOKEN);
  await viewer.click("#signin button");
  await viewer.waitForSelector("#who:has-text('viewer')");
  check(!(await viewer.isVisible("#create")), "a viewer has no create form");
  check(await viewer.isHidden("#nav a[data-page=audit]"), "a viewer is not offered the audit log");
  await viewer.goto(`${GM_URL}/#/matches/${mid}`);
  await viewer.waitForSelector("h1 [data-state]");
  check((await viewer.$$("#actions button, #result, #odds")).length === 0, "a viewer has no lifecycle, result or odds controls");
  await viewer.screenshot({ path: `${SHOTS}/10-viewer-match.png`, fullPage: true });
  console.log(`SETTLED ${mid}`);
} catch (e) {
  // What the page showed when it failed, for the log.
  for (const p of browser.contexts().flatMap((c) => c.pages())) {
    const shown = await p.evaluate(() => [location.hash, document.getElementById("error")?.textContent,
      document.getElementById("main")?.innerText.slice(0, 2000)]).catch(() => []);
    console.error("page at failure:", JSON.stringify(shown));
  }
  throw e;
} finally {
  await browser.close();
}
