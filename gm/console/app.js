// matchday staff console: a single page over gm's HTTP API (the same calls as docs/gm.md), no build
// step and no network access beyond gm itself. The token lives in sessionStorage (this tab only).
// Roles: viewer reads; operator also runs matches, odds, results, announcements and bans; admin
// also grants coins and reloads handlers. Buttons a role may not use are not drawn (and the API
// refuses them anyway).
"use strict";

const RANK = { viewer: 0, operator: 1, admin: 2 };
const state = { token: sessionStorage.getItem("md.token") || "", who: null, timer: null, ticks: 0, gen: 0 };

// A request id made once per form as it is drawn: a retry or a double click of the same form sends
// the same id, so gm applies it once (grants are idempotent by request id).
const newRequestId = () => `console-${Date.now()}-${Math.random().toString(36).slice(2, 10)}`;

// A form being filled in is "dirty" until it is sent or discarded: the live refresh does not redraw
// the page over it.
function keepsWork(form) {
  form.addEventListener("input", () => { form.dataset.dirty = "1"; });
  return form;
}

// Disables a form's buttons while its request runs (a second click does nothing), then runs it.
async function sending(form, fn) {
  const buttons = [...form.querySelectorAll("button")];
  if (buttons.some((b) => b.disabled)) return;
  for (const b of buttons) b.disabled = true;
  try {
    await fn();
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}

// ---------------------------------------------------------------- API and messages

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${state.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, "network", "gm did not answer. Is it running, and is this the right address?");
  }
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (_) { /* not JSON */ }
  if (!res.ok) {
    const err = json && json.error ? json.error : { code: String(res.status), message: text || res.statusText };
    throw new ApiError(res.status, err.code, err.message);
  }
  return json;
}

// Words a person understands, for each kind of failure.
function explain(e) {
  if (!(e instanceof ApiError)) return String(e);
  switch (e.status) {
    case 0: return e.message;
    case 400: return `That was not accepted: ${e.message}`;
    case 401: return e.code === "bad_login"
      ? "The name, password or code was not accepted. Check them (the code changes every 30 seconds) and try again."
      : "The token was not accepted, or the session ended. Sign in again.";
    case 429: return `Too many failed sign-ins: ${e.message}.`;
    case 403: return `Your role may not do that (${e.message}).`;
    case 404: return `Not found: ${e.message}`;
    case 409: return `Not possible right now: ${e.message}`;
    case 422: return `Some of it failed: ${e.message}`;
    case 503: return `gm cannot reach its data right now (${e.message}). Try again in a moment.`;
    case 504: return `No answer in time: ${e.message}`;
    default: return `gm answered ${e.status}: ${e.message}`;
  }
}

function showError(e) {
  const box = document.getElementById("error");
  box.textContent = explain(e);
  box.hidden = false;
  if (e instanceof ApiError && e.status === 401) signOut(false);
}

function notice(text) {
  const box = document.getElementById("notice");
  box.textContent = text;
  box.hidden = false;
  document.getElementById("error").hidden = true;
}

function clearMessages() {
  document.getElementById("error").hidden = true;
  document.getElementById("notice").hidden = true;
}

// Runs an action: shows its error in words, or redraws the page and then a notice (so the notice
// comes with the page that shows the change).
async function act(fn, done) {
  try {
    const r = await fn();
    await route();
    if (done) notice(typeof done === "function" ? done(r) : done);
  } catch (e) {
    showError(e);
  }
}

const can = (role) => state.who && RANK[state.who.role] >= RANK[role];

// ---------------------------------------------------------------- small DOM helpers

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else if (v !== false && v != null) el.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c != null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

function table(headers, rows, onclick) {
  return h("table", {},
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))),
    h("tbody", {}, rows.map((r, i) => h("tr", onclick ? { class: "click", onclick: () => onclick(i) } : {},
      r.map((c) => h("td", {}, c))))));
}

const when = (ms) => (ms ? new Date(Number(ms)).toLocaleString() : "—");
const pill = (name) => h("span", { class: `pill ${name}`, "data-state": name }, name);
const field = (form, name) => form.elements[name].value.trim();

// Previous / Next over a list of `size` per page, starting at `offset`, of which `shown` came back;
// with `total` known the range says "of total", else the next page exists while this one is full.
// `go(offset)` shows another page. Ids: #prev, #next and #page-range (one pager per page).
function pager(offset, shown, size, total, go) {
  const last = total == null ? shown < size : offset + shown >= total;
  const range = shown ? ` ${offset + 1}–${offset + shown}${total == null ? "" : ` of ${total}`} ` : " none ";
  return h("div", { id: "pager" },
    h("button", { class: "secondary", id: "prev", disabled: offset === 0, onclick: () => go(Math.max(0, offset - size)) }, "Previous"),
    h("span", { id: "page-range" }, range),
    h("button", { class: "secondary", id: "next", disabled: last, onclick: () => go(offset + size) }, "Next"));
}

// A list page's query: its parameters, offset and page size (`limit` in the address, else PAGE);
// `go(offset)` moves to another page of the same query.
function paged(base, query) {
  const params = new URLSearchParams(query);
  const offset = Number(params.get("offset") || 0);
  const size = Number(params.get("limit") || PAGE);
  const go = (to) => {
    const q = new URLSearchParams(params);
    q.set("offset", String(to));
    location.hash = `${base}?${q}`;
  };
  const asked = new URLSearchParams(params);
  asked.set("offset", String(offset));
  asked.set("limit", String(size));
  return { params, offset, size, go, query: asked };
}

// A filter form whose named fields become the list's address (empty ones left out).
function filterForm(id, base, fields, params) {
  const form = h("form", { id, onsubmit: (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const [name] of fields) if (field(form, name) !== "") q.set(name, field(form, name));
    if (params.get("limit")) q.set("limit", params.get("limit"));
    location.hash = `${base}?${q}`;
  } },
  fields.map(([name, label, attrs]) => attrs && attrs.options
    ? h("label", {}, `${label} `, h("select", { name }, attrs.options.map(([v, text]) => h("option", { value: v, selected: (params.get(name) || "") === v }, text))))
    : h("label", {}, `${label} `, h("input", { name, value: params.get(name) || "", ...(attrs || {}) }))),
  h("button", { type: "submit", class: "secondary" }, "Show"));
  return form;
}

function render(...nodes) {
  const main = document.getElementById("main");
  main.replaceChildren(...nodes);
}

// ---------------------------------------------------------------- sign in

function signInPage() {
  // Whichever way: the console keeps the bearer token it gets in sessionStorage (this tab only).
  const enter = async (form, token) => {
    state.token = token;
    try {
      state.who = await api("GET", "/api/whoami");
      sessionStorage.setItem("md.token", state.token);
      clearMessages();
      location.hash = "#/matches";
      await route();
    } catch (e) {
      state.token = "";
      showError(e);
    }
  };
  // A personal account: name, password and the code of its authenticator app → a session token
  // that ends when idle, at its lifetime, or at sign-out.
  const account = h("form", { id: "signin-account", onsubmit: async (ev) => {
    ev.preventDefault();
    const body = { name: field(account, "name"), password: field(account, "password"), code: field(account, "code") };
    try {
      const res = await fetch("/api/staff/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      const json = await res.json().catch(() => null);
      if (!res.ok) {
        const err = json && json.error ? json.error : { code: String(res.status), message: res.statusText };
        throw new ApiError(res.status, err.code, err.message);
      }
      account.querySelector("input[name=password]").value = "";
      await enter(account, json.token);
    } catch (e) {
      showError(e);
    }
  } },
  h("h1", {}, "Sign in"),
  h("p", { class: "muted" }, "With your staff account: its password and the 6-digit code your authenticator app shows now."),
  h("label", {}, "Name ", h("input", { name: "name", size: 16, autocomplete: "username", required: true })),
  h("label", {}, "Password ", h("input", { name: "password", type: "password", size: 20, autocomplete: "current-password", required: true })),
  h("label", {}, "Code ", h("input", { name: "code", size: 7, inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", required: true })),
  h("button", { type: "submit" }, "Sign in"));
  const token = h("form", { id: "signin", onsubmit: (ev) => {
    ev.preventDefault();
    enter(token, field(token, "token"));
  } },
  h("h2", {}, "Or with a token"),
  h("p", { class: "muted" }, "A shared token from gm.tokens in the configuration (matchday up prints one-off tokens), or an API token."),
  h("label", {}, "Token ", h("input", { name: "token", type: "password", size: 40, autocomplete: "off", required: true })),
  h("button", { type: "submit" }, "Sign in"));
  render(h("div", {}, account, token));
}

function signOut(redraw = true) {
  // A session ends at gm too (a shared or API token is only forgotten here).
  if (state.token.startsWith("mds_")) {
    fetch("/api/staff/logout", { method: "POST", headers: { Authorization: `Bearer ${state.token}` } }).catch(() => {});
  }
  state.token = "";
  state.who = null;
  sessionStorage.removeItem("md.token");
  if (redraw) { location.hash = "#/"; route(); }
}

// ---------------------------------------------------------------- matches

const STATES = [[-1, "pending"], [0, "not_started"], [1, "betting_stopped"], [2, "open"], [3, "settling"], [4, "settled"],
  [5, "closed"], [6, "cancelled"], [7, "no_result"], [8, "refunded"], [9, "credited"]];
const DESTRUCTIVE = { cancel: "Cancel this match? Every stake will be refunded.", close: "Close (archive) this match?" };

const PAGE = 20;

async function matchesPage(query, show) {
  const params = new URLSearchParams(query);
  const offset = Number(params.get("offset") || 0);
  const asked = new URLSearchParams(params);
  asked.set("limit", String(PAGE));
  const list = await api("GET", `/api/matches?${asked}`);
  const filter = filterForm("filter", "#/matches", [["q", "Search", { size: 16, placeholder: "title or team" }],
    ["state", "State", { options: [["", "any"], ...STATES.map(([c, n]) => [String(c), `${c} ${n}`])] }],
    ["type", "Type", { size: 10 }]], params);
  const rows = list.items.map((m) => [m.match_id, m.title, m.type, pill(m.state_name), when(m.start_at), m.bet_count,
    h("span", {}, m.actions.length && can("operator") ? m.actions.join(", ") : "—")]);
  // Pages of PAGE: the next exists while a page comes back full.
  const page = (to) => {
    const q = new URLSearchParams(params);
    q.set("offset", String(to));
    location.hash = `#/matches?${q}`;
  };
  const parts = [h("h1", {}, "Matches"), filter,
    h("table", { id: "match-list" }, h("thead", {}, h("tr", {}, ["id", "title", "type", "state", "starts", "bets", "allowed actions"].map((x) => h("th", {}, x)))),
      h("tbody", {}, rows.map((r, i) => h("tr", { class: "click", onclick: () => { location.hash = `#/matches/${list.items[i].match_id}`; } },
        r.map((c) => h("td", {}, c)))))),
    pager(offset, list.items.length, PAGE, null, page)];
  if (!list.items.length) parts.push(h("p", { class: "muted" }, "No match."));
  if (can("operator")) parts.push(createForm(), importForm());
  show(...parts);
}

function createForm() {
  const start = new Date(Date.now() + 86400000).toISOString().slice(0, 16);
  const form = h("form", { id: "create", onsubmit: (ev) => {
    ev.preventDefault();
    const options = parseOptions(field(form, "options"));
    const body = { type: field(form, "type"), title: field(form, "title"),
      teams: [field(form, "team_a"), field(form, "team_b")], start_at: new Date(field(form, "start_at")).getTime(),
      options, min_stake: Number(field(form, "min_stake")), max_stake: Number(field(form, "max_stake")) };
    act(async () => { const m = await api("POST", "/api/matches", body); location.hash = `#/matches/${m.match_id}`; return m; },
      (m) => `Match ${m.match_id} created; it waits for approval.`);
  } },
  h("h2", {}, "Create a match"),
  h("label", {}, "Type ", h("input", { name: "type", value: "lol", size: 8, required: true })),
  h("label", {}, "Title ", h("input", { name: "title", size: 30, required: true })),
  h("label", {}, "Team A ", h("input", { name: "team_a", size: 12, required: true })),
  h("label", {}, "Team B ", h("input", { name: "team_b", size: 12, required: true })),
  h("label", {}, "Starts ", h("input", { name: "start_at", type: "datetime-local", value: start, required: true })),
  h("label", {}, "Stakes ", h("input", { name: "min_stake", type: "number", value: 10, min: 1, style: "width:6em" }),
    " to ", h("input", { name: "max_stake", type: "number", value: 5000, min: 1, style: "width:8em" })),
  h("label", { style: "display:block" }, "Options, one per line: key, label, odds (decimal)",
    h("textarea", { name: "options" }, "a, Team A wins, 1.85\nb, Team B wins, 2.05")),
  h("button", { type: "submit" }, "Create"));
  return form;
}

function importForm() {
  const form = h("form", { id: "import", onsubmit: (ev) => {
    ev.preventDefault();
    let body;
    try { body = JSON.parse(field(form, "feed")); } catch (e) { return showError(`The feed is not valid JSON: ${e.message}`); }
    act(() => api("POST", "/api/matches/import", body),
      (r) => `Imported: ${r.items.filter((i) => i.created).length} created, ${r.items.filter((i) => !i.created).length} already known.`);
  } },
  h("h2", {}, "Import from a feed"),
  h("p", { class: "muted" }, "{\"matches\": [...]} — each match as above plus external_id; a known external_id creates nothing."),
  h("textarea", { name: "feed", placeholder: "{\"matches\": []}" }),
  h("button", { type: "submit" }, "Import"));
  return form;
}

async function matchPage(id, show) {
  const m = await api("GET", `/api/matches/${id}`);
  const total = Object.values(m.pool || {}).reduce((a, b) => a + b, 0);
  const settledShare = m.bet_count ? Math.round((100 * (m.settled || 0)) / m.bet_count) : 0;
  const parts = [
    h("h1", {}, `#${m.match_id} ${m.title} `, pill(m.state_name)),
    h("div", { class: "card" },
      h("div", {}, `${m.teams.join(" vs ")} · ${m.type} · starts ${when(m.start_at)}${m.live ? " · live" : ""}`),
      h("div", {}, `Stakes ${m.min_stake}–${m.max_stake} · odds version ${m.odds_ver}${m.result ? ` · result ${m.result}` : ""}`),
      h("div", { id: "bets" }, `Bets: `, h("b", { id: "bet-count" }, m.bet_count), ` · staked `, h("b", { id: "pool-total" }, total)),
      h("div", { id: "settlement" }, "Settlement: ", h("span", { class: "bar" }, h("span", { style: `width:${settledShare}%` })),
        ` ${m.settled || 0} of ${m.bet_count} bets settled`)),
    h("h2", {}, "Pool by option"),
    table(["option", "label", "odds", "staked"], m.options.map((o) => [o.key, o.label, (o.odds / 1000).toFixed(3),
      h("span", { "data-pool": o.key }, (m.pool || {})[o.key] || 0)])),
  ];
  if (can("operator")) {
    const actions = m.actions.filter((a) => a !== "result" && a !== "no_result");
    if (actions.length) {
      parts.push(h("h2", {}, "Lifecycle"), h("div", { id: "actions" }, actions.map((a) =>
        h("button", { class: DESTRUCTIVE[a] ? "danger" : "", "data-action": a, onclick: () => {
          if (DESTRUCTIVE[a] && !confirm(DESTRUCTIVE[a])) return;
          act(() => api("POST", `/api/matches/${id}/${a}`), `Match ${id}: ${a} done.`);
        } }, a))));
    }
    if (m.feed_result && m.actions.includes("result")) {
      const option = m.options.find((o) => o.key === m.feed_result);
      parts.push(h("div", { class: "card", id: "feed-result" }, `The data feed reports: ${m.feed_result}${option ? ` (${option.label})` : ""} wins. `,
        h("button", { class: "danger", onclick: () => {
          if (!confirm(`Confirm the feed's result: ${m.feed_result} wins? Winning bets are paid out.`)) return;
          act(() => api("POST", `/api/matches/${m.match_id}/result`, { winner: m.feed_result }), "Result confirmed; settlement is running.");
        } }, "Confirm result")));
    }
    if (m.actions.includes("result")) parts.push(resultForm(m));
    if (["pending", "not_started", "betting_stopped", "open"].includes(m.state_name)) parts.push(oddsForm(m));
  }
  parts.push(marketsSection(m));
  if (!show(...parts)) return;
  // Live refresh while the match can still change; it waits while a form is being filled in.
  if (!["closed"].includes(m.state_name)) state.timer = setTimeout(refresh, 2000);
}

// One live-refresh period: redraws the page unless a form on it holds unsent input. Each period
// counts in `data-ticks` on <main> (what the browser test waits on).
function refresh() {
  state.ticks += 1;
  const main = document.getElementById("main");
  main.dataset.ticks = String(state.ticks);
  const dirty = main.querySelector("form[data-dirty]");
  document.getElementById("paused").hidden = !dirty;
  if (dirty) {
    state.timer = setTimeout(refresh, 2000);
    return;
  }
  route();
}

// The match's markets (its default market first): state, odds, stakes, and per market the actions
// its state allows; a form to add one.
function marketsSection(m) {
  const markets = m.markets || [];
  const rows = markets.map((k) => {
    const staked = Object.values(k.pool || {}).reduce((a, b) => a + b, 0);
    const odds = k.options.map((o) => `${o.key} ${(o.odds / 1000).toFixed(2)}`).join(" · ");
    const buttons = can("operator")
      ? k.actions.filter((a) => ["open", "suspend", "cancel", "close"].includes(a)).map((a) =>
        h("button", { class: a === "cancel" ? "danger" : "secondary", "data-market-action": a, onclick: () => {
          if (a === "cancel" && !confirm(`Void the market "${k.market}"? Every stake on it is refunded.`)) return;
          act(() => api("POST", `/api/matches/${m.match_id}/markets/${k.match_id}/${a}`), `${k.market}: ${a} done.`);
        } }, a === "cancel" ? "void" : a))
      : [];
    if (can("operator") && k.actions.includes("result")) {
      const pick = h("select", { "data-market-winner": k.match_id }, k.options.map((o) => h("option", { value: o.key }, o.key)));
      buttons.push(pick, h("button", { class: "danger", "data-market-action": "result", onclick: () => {
        if (!confirm(`Settle "${k.market}": ${pick.value} wins?`)) return;
        act(() => api("POST", `/api/matches/${m.match_id}/markets/${k.match_id}/result`, { winner: pick.value }), `${k.market}: result set.`);
      } }, "settle"));
    }
    return h("tr", { "data-market": k.match_id },
      h("td", {}, k.market), h("td", {}, pill(k.state_name)), h("td", {}, odds), h("td", {}, `${k.bet_count} bets · ${staked}`),
      h("td", {}, buttons));
  });
  const parts = [h("h2", {}, "Markets"),
    h("table", { id: "markets" }, h("thead", {}, h("tr", {}, ["market", "state", "odds", "bets", ""].map((x) => h("th", {}, x)))),
      h("tbody", {}, rows))];
  if (can("operator") && ["pending", "not_started", "betting_stopped", "open"].includes(m.state_name)) {
    const form = keepsWork(h("form", { id: "add-market", onsubmit: (ev) => {
      ev.preventDefault();
      const options = parseOptions(field(form, "options"));
      sending(form, () => act(() => api("POST", `/api/matches/${m.match_id}/markets`, { name: field(form, "name"), options }),
        "Market added; open it to take bets."));
    } },
    h("h3", {}, "Add a market"),
    h("label", {}, "Name ", h("input", { name: "name", size: 24, required: true })),
    h("label", { style: "display:block" }, "Options, one per line: key, label, odds (decimal)",
      h("textarea", { name: "options" }, "a, Team A, 1.90\nb, Team B, 1.90")),
    h("button", { type: "submit" }, "Add")));
    parts.push(form);
  }
  return h("section", {}, parts);
}

// "key, label, odds" lines into options (odds in thousandths).
function parseOptions(text) {
  return text.split("\n").filter((l) => l.trim()).map((line) => {
    const [key, label, odds] = line.split(",").map((s) => s.trim());
    return { key, label, odds: Math.round(Number(odds) * 1000) };
  });
}

function resultForm(m) {
  const form = h("form", { id: "result", onsubmit: (ev) => {
    ev.preventDefault();
    const w = field(form, "winner");
    const winner = w === "" ? null : w;
    const what = winner ? `Set the result: ${winner} wins? Winning bets are paid out.` : "End without a result? Every stake is refunded.";
    if (!confirm(what)) return;
    act(() => api("POST", `/api/matches/${m.match_id}/result`, { winner }), "Result set; settlement is running.");
  } },
  h("h2", {}, "Result"),
  h("label", {}, "Winner ", h("select", { name: "winner" },
    m.options.map((o) => h("option", { value: o.key }, `${o.key} — ${o.label}`)), h("option", { value: "" }, "no result (refund)"))),
  h("button", { type: "submit", class: "danger" }, "Set result"));
  return form;
}

function oddsForm(m) {
  const form = keepsWork(h("form", { id: "odds", onsubmit: (ev) => {
    ev.preventDefault();
    const options = m.options.map((o) => ({ key: o.key, odds: Math.round(Number(field(form, `odds_${o.key}`)) * 1000) }));
    sending(form, () => act(() => api("PUT", `/api/matches/${m.match_id}/odds`, { options }), "Odds changed."));
  } },
  h("h2", {}, "Odds"),
  m.options.map((o) => h("label", {}, `${o.key} `,
    h("input", { name: `odds_${o.key}`, type: "number", step: "0.001", min: "1.001", value: (o.odds / 1000).toFixed(3), style: "width:7em" }))),
  h("button", { type: "submit" }, "Save odds"),
  h("button", { type: "button", class: "secondary", id: "discard-odds", onclick: () => { delete form.dataset.dirty; route(); } }, "Discard")));
  return form;
}

// ---------------------------------------------------------------- users

// The record's lists (users, bets, reports, the audit log) come from MySQL through gm: they follow
// the live state by dbsvr's flush.
async function usersPage(id, query, show) {
  const list = paged("#/users", query || "");
  const find = filterForm("find", "#/users", [["q", "Name or id", { size: 20, placeholder: "part of a name, or an id" }]], list.params);
  const parts = [h("h1", {}, "Users"), find];
  if (id) {
    const u = id.startsWith("name/")
      ? await api("GET", `/api/users?name=${encodeURIComponent(decodeURIComponent(id.slice(5)))}`)
      : await api("GET", `/api/users/${id}`);
    parts.push(userCard(u));
    // The bets come from MySQL: the rest of the page shows without it.
    try {
      parts.push(await betList(`user_id=${u.user_id}`, `#/users/${u.user_id}`, query || "", "Bets"));
    } catch (e) {
      parts.push(h("p", { class: "muted", id: "bet-list" }, `Bets: ${explain(e)}`));
    }
    return show(...parts);
  }
  const found = await api("GET", `/api/users/search?${list.query}`);
  parts.push(h("table", { id: "user-list" }, h("thead", {}, h("tr", {}, ["id", "username", "balance", "since", ""].map((x) => h("th", {}, x)))),
    h("tbody", {}, found.items.map((u) => h("tr", { class: "click", "data-user": u.user_id, onclick: () => { location.hash = `#/users/${u.user_id}`; } },
      [u.user_id, u.username, u.balance, when(u.created_at), u.banned ? pill("banned") : ""].map((c) => h("td", {}, c)))))),
  pager(list.offset, found.items.length, list.size, found.total, list.go));
  if (!found.items.length) parts.push(h("p", { class: "muted" }, "No user."));
  show(...parts);
}

// A page of bets (`filter`: the API's query), paged within the page at `base`.
async function betList(filter, base, query, title) {
  const list = paged(base, query);
  const asked = new URLSearchParams(filter);
  asked.set("offset", String(list.offset));
  asked.set("limit", String(list.size));
  const bets = await api("GET", `/api/bets?${asked}`);
  return h("div", {}, h("h2", {}, title),
    h("table", { id: "bet-list" }, h("thead", {}, h("tr", {}, ["bet", "user", "match", "market", "option", "stake", "odds", "state", "payout", "placed"].map((x) => h("th", {}, x)))),
      h("tbody", {}, bets.items.map((b) => h("tr", { "data-bet": b.bet_id },
        [b.bet_id, b.user_id, b.match_id, b.market_id === b.match_id ? "—" : b.market_id, b.option, b.stake, (Number(b.odds) / 1000).toFixed(3),
          pill(b.state), b.payout ?? "—", when(b.ts)].map((c) => h("td", {}, c)))))),
    pager(list.offset, bets.items.length, list.size, bets.total, list.go),
    bets.items.length ? "" : h("p", { class: "muted" }, "No bet."));
}

async function betsPage(query, show) {
  const params = new URLSearchParams(query);
  const form = filterForm("bet-filter", "#/bets", [["user_id", "User id", { size: 8 }], ["match_id", "Match id", { size: 8 }],
    ["state", "State", { options: [["", "any"], ["open", "open"], ["won", "won"], ["lost", "lost"], ["refunded", "refunded"]] }],
    ["from", "From", { type: "date" }], ["to", "To", { type: "date" }]], params);
  const filter = new URLSearchParams();
  for (const k of ["user_id", "match_id", "state", "from", "to"]) if (params.get(k)) filter.set(k, params.get(k));
  show(h("h1", {}, "Bets"), form, await betList(filter.toString(), "#/bets", query, "Newest first"));
}

function userCard(u) {
  const parts = [
    h("div", { class: "card", id: "user" },
      h("h2", {}, `#${u.user_id} ${u.username} `, u.banned ? pill("banned") : "", u.online ? pill("online") : ""),
      h("div", {}, "Balance ", h("b", { id: "balance" }, u.balance), ` · since ${when(u.created_at)}`),
      u.ban ? h("div", {}, `Banned by ${u.ban.by} on ${when(u.ban.at)}: ${u.ban.reason}`) : ""),
    h("h2", {}, "Ledger"),
    table(["when", "change", "balance", "reason", "ref"], (u.recent_ledger || []).map((l) =>
      [when(l.ts), l.delta > 0 ? `+${l.delta}` : l.delta, l.balance, l.reason, l.ref])),
  ];
  if (can("admin")) {
    // The request id is this form's: a double click, or a retry after no answer, grants once.
    const requestId = newRequestId();
    const grant = h("form", { id: "grant", "data-request-id": requestId, onsubmit: (ev) => {
      ev.preventDefault();
      const amount = Number(field(grant, "amount"));
      if (amount < 0 && !confirm(`Take ${-amount} coins from ${u.username}?`)) return;
      const body = { amount, reason: field(grant, "reason"), request_id: requestId };
      // Above gm.grant_approval_above the grant is a request (202) another admin approves.
      const told = (r) => r.state === "pending"
        ? `Asked: another admin must approve this grant (request ${r.id}).`
        : `Done: the balance is now ${r.balance}.`;
      sending(grant, () => act(() => api("POST", `/api/users/${u.user_id}/grant`, body), told));
    } },
    h("h2", {}, "Grant coins"),
    h("label", {}, "Amount ", h("input", { name: "amount", type: "number", required: true, style: "width:9em" })),
    h("label", {}, "Reason ", h("input", { name: "reason", size: 24, required: true })),
    h("button", { type: "submit" }, "Grant"));
    parts.push(grant);
  }
  if (can("operator")) {
    const ban = h("form", { id: "ban", onsubmit: (ev) => {
      ev.preventDefault();
      if (u.banned) {
        act(() => api("POST", `/api/users/${u.user_id}/unban`, { reason: field(ban, "reason") || "lifted" }), "Ban lifted.");
      } else {
        if (!confirm(`Ban ${u.username}? Their connections are closed and they cannot log in.`)) return;
        act(() => api("POST", `/api/users/${u.user_id}/ban`, { reason: field(ban, "reason") }), "Banned.");
      }
    } },
    h("h2", {}, u.banned ? "Lift the ban" : "Ban"),
    h("label", {}, "Reason ", h("input", { name: "reason", size: 30, required: !u.banned })),
    h("button", { type: "submit", class: u.banned ? "" : "danger" }, u.banned ? "Unban" : "Ban"));
    parts.push(ban);
  }
  return h("div", {}, parts);
}

// ---------------------------------------------------------------- announcements, operations, stats

function announcementsPage(show) {
  const parts = [h("h1", {}, "Announcements")];
  if (!can("operator")) {
    parts.push(h("p", { class: "muted" }, "Your role cannot send announcements."));
    return show(...parts);
  }
  const form = h("form", { id: "announce", onsubmit: (ev) => {
    ev.preventDefault();
    const at = field(form, "at");
    const body = { text: field(form, "text"), at: at ? new Date(at).getTime() : null };
    act(() => api("POST", "/api/announcements", body), (r) => (r && r.scheduled_at ? `Scheduled for ${when(r.scheduled_at)}.` : "Sent to every player online."));
  } },
  h("label", { style: "display:block" }, "Text", h("textarea", { name: "text", required: true })),
  h("label", {}, "When (empty = now) ", h("input", { name: "at", type: "datetime-local" })),
  h("button", { type: "submit" }, "Send"));
  parts.push(form);
  show(...parts);
}

async function opsPage(show) {
  const [nodes, queues] = await Promise.all([api("GET", "/api/nodes"), api("GET", "/api/queues")]);
  const drain = (n) => (can("admin") ? h("button", { class: "danger", "data-drain-node": n.id, "data-drain-role": n.role, onclick: () => {
    if (!confirm(`Drain ${n.role} ${n.id}? It stops taking work, finishes what it holds and exits.`)) return;
    act(() => api("POST", "/api/ops/drain", { node: n.id, role: n.role }),
      (r) => `${n.role} ${n.id}: ${r.answers.map((a) => a.detail).join(", ") || "no answer"}${r.silent.length ? ` (silent: ${r.silent.join(", ")})` : ""}.`);
  } }, "Drain") : "");
  const parts = [h("h1", {}, "Operations"), h("h2", {}, "Processes"),
    table(["role", "id", "group", "host", "pid", "version", "uptime", "frames/s", "inflight", ""], nodes.items.map((n) =>
      [n.role, n.id, n.group, n.host, n.pid, n.version, n.uptime_s != null ? `${n.uptime_s} s` : "—", n.frames_per_s ?? "—", n.inflight ?? "—", drain(n)]))];
  if (nodes.groups) {
    parts.push(h("h2", {}, "Groups"), table(["group", "waiting", "oldest (ms)", "logic processes"],
      nodes.groups.map((g) => [g.group, g.depth, g.oldest_age_ms, g.consumers])));
  }
  const dead = queues.items.filter((q) => q.name.startsWith("q:dead:") && !/:(consumers|deliveries|reaper)$/.test(q.name));
  const live = queues.items.filter((q) => !q.name.includes("dead"));
  parts.push(h("h2", {}, "Queues"), table(["queue", "depth"], live.map((q) => [q.name, q.depth])),
    h("h2", {}, "Dead lists"), dead.length ? h("table", { id: "dead" }, h("tbody", {}, dead.map((q) => h("tr", { "data-dead": q.name },
      h("td", {}, q.name), h("td", {}, q.depth),
      h("td", {}, can("admin") ? [
        h("button", { class: "secondary", "data-dead-action": "inspect", onclick: () => deadEntries(q.name) }, "Inspect"),
        h("button", { "data-dead-action": "requeue", onclick: () => {
          if (!confirm(`Move the oldest frame of ${q.name} back to its queue?`)) return;
          act(() => api("POST", "/api/dead/requeue", { list: q.name, count: 1 }), (r) => `Requeued ${r.moved} frame(s) of ${r.list}.`);
        } }, "Requeue oldest")] : "")))))
      : h("p", { class: "muted", id: "no-dead" }, "No dead list: nothing has failed for good."),
    h("div", { id: "dead-entries" }));
  if (can("admin")) {
    parts.push(h("h2", {}, "Lua handlers"), h("button", { id: "reload", onclick: () => act(() => api("POST", "/api/ops/reload"),
      (r) => `Reloaded on ${(r.nodes || []).length} logic process(es).`) }, "Reload on every logic process"));
  }
  show(...parts);
}

// The newest frames of a dead list, decoded (gm hides passwords and tokens).
async function deadEntries(list) {
  try {
    const r = await api("GET", `/api/dead/entries?list=${encodeURIComponent(list)}&limit=20`);
    document.getElementById("dead-entries").replaceChildren(h("h3", {}, `${list}: ${r.depth} frame(s), newest first`),
      table(["#", "bytes", "frame"], r.items.map((e) => [e.index, e.size, h("code", {}, JSON.stringify(e.frame))])));
  } catch (e) {
    showError(e);
  }
}

// ---------------------------------------------------------------- reports and the audit log

const REPORT_COLUMNS = [["bets", "bets"], ["bettors", "bettors"], ["stakes", "staked"], ["payouts", "paid out"], ["refunds", "refunded"],
  ["open", "open"], ["house", "house result"]];

async function reportsPage(query, show) {
  const list = paged("#/reports", query || "");
  const by = list.params.get("by") || "day";
  const form = filterForm("report-filter", "#/reports", [
    ["by", "By", { options: [["day", "day"], ["match", "match"], ["market", "market"], ["type", "game type"]] }],
    ["from", "From", { type: "date" }], ["to", "To", { type: "date" }], ["type", "Game type", { size: 8 }]], list.params);
  const q = new URLSearchParams(list.query);
  q.delete("by");
  const r = await api("GET", `/api/reports/${by}?${q}`);
  const days = by === "day";
  const reasons = [...new Set([r.totals, ...r.items].flatMap((row) => Object.keys(row.deposits || {})))].sort();
  const headers = ["", ...REPORT_COLUMNS.map(([, label]) => label), ...(days ? ["new users", ...reasons.map((x) => `deposits: ${x}`)] : [])];
  const cells = (row) => [row.label ? `${row.key} ${row.label}` : row.key, ...REPORT_COLUMNS.map(([k]) => row[k]),
    ...(days ? [row.new_users, ...reasons.map((x) => (row.deposits || {})[x] || 0)] : [])];
  const csv = h("button", { class: "secondary", id: "report-csv", onclick: () => download(`/api/reports/${by}?${q}&format=csv`) }, "Download CSV");
  show(h("h1", {}, "Reports"), form,
    h("p", { class: "muted" }, `${r.from} to ${r.to} (UTC), from the MySQL record. Staked − paid out − refunded = house result; `
      + "it is final once nothing is open. Logins are not recorded in MySQL: a day's active players are its bettors."),
    chart(r.items), h("table", { id: "report-table" }, h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))),
      h("tbody", {}, r.items.map((row) => h("tr", { "data-key": row.key }, cells(row).map((c) => h("td", {}, c))))),
      h("tfoot", {}, h("tr", { "data-key": "total" }, cells(r.totals).map((c) => h("th", {}, c))))),
    pager(list.offset, r.items.length, list.size, r.total, list.go), csv);
}

// Staked and paid out per row as bars (SVG drawn here: no chart library, no network).
function chart(rows) {
  const NS = "http://www.w3.org/2000/svg";
  const svg = (tag, attrs, ...kids) => {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    for (const k of kids) el.append(k);
    return el;
  };
  const top = Math.max(1, ...rows.flatMap((r) => [r.stakes, r.payouts + r.refunds]));
  const W = 28, H = 140;
  const g = rows.map((r, i) => {
    const bar = (value, dx, cls, what) => svg("rect", { x: i * W + dx, y: H - (H * value) / top, width: 10, height: (H * value) / top, class: cls },
      svg("title", {}, `${r.key}: ${what} ${value}`));
    return svg("g", { "data-key": r.key }, bar(r.stakes, 4, "staked", "staked"), bar(r.payouts + r.refunds, 14, "paid", "paid out and refunded"));
  });
  return h("figure", { id: "report-chart" }, svg("svg", { width: Math.max(W, rows.length * W), height: H + 2, role: "img" }, ...g),
    h("figcaption", { class: "muted" }, h("span", { class: "key staked" }), " staked  ", h("span", { class: "key paid" }), " paid out and refunded"));
}

// Fetches a file with the staff token (a plain link could not send it) and saves it.
async function download(path) {
  try {
    const res = await fetch(path, { headers: { Authorization: `Bearer ${state.token}` } });
    if (!res.ok) throw new ApiError(res.status, String(res.status), await res.text());
    const name = (res.headers.get("content-disposition") || "").match(/filename="([^"]+)"/);
    const a = h("a", { href: URL.createObjectURL(await res.blob()), download: name ? name[1] : "report.csv" });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (e) {
    showError(e);
  }
}

async function auditPage(query, show) {
  const list = paged("#/audit", query || "");
  const form = filterForm("audit-filter", "#/audit", [["who", "Who", { size: 10 }], ["action", "Action", { size: 12, placeholder: "match. or user.grant" }],
    ["target", "Target", { size: 12, placeholder: "match:12" }], ["from", "From", { type: "date" }], ["to", "To", { type: "date" }]], list.params);
  const log = await api("GET", `/api/audit?${list.query}`);
  show(h("h1", {}, "Audit log"), form,
    h("table", { id: "audit-list" }, h("thead", {}, h("tr", {}, ["when", "who", "role", "action", "target", "request"].map((x) => h("th", {}, x)))),
      h("tbody", {}, log.items.map((e) => h("tr", { "data-action": e.action },
        [when(e.ts), e.who, e.role, e.action, e.target, h("code", {}, JSON.stringify(e.payload))].map((c) => h("td", {}, c)))))),
    pager(list.offset, log.items.length, list.size, log.total, list.go),
    log.items.length ? "" : h("p", { class: "muted" }, "Nothing matches."));
}

// Grants above gm.grant_approval_above wait here for a second admin (never the one who asked).
async function approvalsPage(query, show) {
  const stateOf = new URLSearchParams(query || "").get("state") || "pending";
  const list = await api("GET", `/api/approvals?state=${encodeURIComponent(stateOf)}`);
  const tabs = h("p", {}, ...["pending", "approved", "rejected"].map((st) =>
    h("a", { href: `#/approvals?state=${st}`, class: st === stateOf ? "active" : "", style: "margin-right:1em" }, st)));
  const decide = (a, how) => {
    if (how === "approve" && !confirm(`Grant ${a.amount} coins to user ${a.user_id} (asked by ${a.asked_by})?`)) return;
    act(() => api("POST", `/api/approvals/${a.id}/${how}`, {}), (r) => (how === "approve"
      ? (r.result && r.result.balance !== undefined ? `Approved: the balance is now ${r.result.balance}.` : `Approved, but the grant was refused: ${r.result && r.result.error ? r.result.error.message : "see the request"}.`)
      : "Rejected: nothing was granted."));
  };
  const buttons = (a) => {
    if (a.state !== "pending" || !can("admin")) return "";
    const mine = a.asked_by === state.who.name;
    return h("span", {},
      mine ? "" : h("button", { class: "approve", onclick: () => decide(a, "approve") }, "Approve"),
      h("button", { class: "reject", onclick: () => decide(a, "reject") }, mine ? "Withdraw" : "Reject"));
  };
  const outcome = (a) => (a.result ? (a.result.balance !== undefined ? `balance ${a.result.balance}` : a.result.error.message) : "");
  show(h("h1", {}, "Grant approvals"),
    h("p", { class: "muted" }, "Grants above the deployment's threshold wait for a second admin; the admin who asked cannot approve."),
    tabs,
    h("table", { id: "approval-list" }, h("thead", {}, h("tr", {}, ["asked", "user", "amount", "reason", "asked by", "state", "decided by", "result", ""].map((x) => h("th", {}, x)))),
      h("tbody", {}, list.items.map((a) => h("tr", { "data-id": a.id },
        [when(a.asked_at), h("a", { href: `#/users/${a.user_id}` }, String(a.user_id)), a.amount, a.reason, a.asked_by, a.state,
          a.decided_by || "", outcome(a), buttons(a)].map((c) => h("td", {}, c)))))),
    list.items.length ? "" : h("p", { class: "muted" }, `No ${stateOf} requests.`));
}

// Staff accounts and API tokens (admin). Secrets are shown once, in the notice that answers.
async function staffPage(show) {
  if (!can("admin")) return show(h("h1", {}, "Staff"), h("p", { class: "muted" }, "Only admins manage staff accounts."));
  const [accounts, tokens] = await Promise.all([api("GET", "/api/staff"), api("GET", "/api/staff/tokens")]);
  const edit = (a, body, done) => act(() => api("PATCH", `/api/staff/${encodeURIComponent(a.name)}`, body), done);
  const accountRows = accounts.items.map((a) => h("tr", { "data-staff": a.name },
    ...[a.name, a.role, a.disabled ? "disabled" : "active", a.created_by, when(a.created_at)].map((c) => h("td", {}, c)),
    h("td", {},
      h("button", { class: a.disabled ? "" : "danger", "data-staff-action": "toggle", onclick: () => {
        if (!a.disabled && !confirm(`Disable ${a.name}? Every session and API token of theirs stops at once.`)) return;
        edit(a, { disabled: !a.disabled }, a.disabled ? `${a.name} is active again.` : `${a.name} is disabled.`);
      } }, a.disabled ? "Enable" : "Disable"),
      h("button", { class: "secondary", "data-staff-action": "totp", onclick: () => {
        if (!confirm(`Give ${a.name} a new TOTP secret? Their authenticator app's codes stop working.`)) return;
        edit(a, { new_totp: true }, (r) => `New TOTP secret for ${a.name} (shown once): ${r.totp_secret} — ${r.totp_url}`);
      } }, "New TOTP secret"))));
  const create = h("form", { id: "staff-create", onsubmit: (ev) => {
    ev.preventDefault();
    const body = { name: field(create, "name"), role: field(create, "role"), password: field(create, "password") };
    sending(create, () => act(() => api("POST", "/api/staff", body),
      (r) => `Created ${r.name} (${r.role}). Their TOTP secret (shown once): ${r.totp_secret} — ${r.totp_url}`));
  } },
  h("h2", {}, "New account"),
  h("label", {}, "Name ", h("input", { name: "name", size: 14, required: true })),
  h("label", {}, "Role ", h("select", { name: "role" }, ...["viewer", "operator", "admin"].map((r) => h("option", { value: r }, r)))),
  h("label", {}, "First password ", h("input", { name: "password", type: "password", size: 16, minlength: 12, autocomplete: "new-password", required: true })),
  h("button", { type: "submit" }, "Create"));
  const tokenRows = tokens.items.map((t) => h("tr", { "data-token": t.id },
    ...[t.owner, t.role, t.created_by, when(t.created_at), when(t.expires_at), t.last_used ? when(t.last_used) : "never"].map((c) => h("td", {}, c)),
    h("td", {}, h("button", { class: "danger", "data-token-action": "revoke", onclick: () => {
      if (!confirm(`Revoke ${t.owner}'s ${t.role} token? It stops working at once.`)) return;
      act(() => api("POST", `/api/staff/tokens/${t.id}/revoke`, {}), "Revoked.");
    } }, "Revoke"))));
  const mint = h("form", { id: "token-create", onsubmit: (ev) => {
    ev.preventDefault();
    const body = { owner: field(mint, "owner"), role: field(mint, "role"), expires_in_days: Number(field(mint, "days")) };
    sending(mint, () => act(() => api("POST", "/api/staff/tokens", body),
      (r) => `API token for ${r.owner} (${r.role}, until ${when(r.expires_at)}), shown once: ${r.token}`));
  } },
  h("h2", {}, "New API token"),
  h("label", {}, "Owner ", h("select", { name: "owner" }, ...accounts.items.filter((a) => !a.disabled).map((a) => h("option", { value: a.name }, a.name)))),
  h("label", {}, "Role ", h("select", { name: "role" }, ...["viewer", "operator", "admin"].map((r) => h("option", { value: r }, r)))),
  h("label", {}, "Days ", h("input", { name: "days", type: "number", min: 1, max: 365, value: 90, style: "width:5em" })),
  h("button", { type: "submit" }, "Make"));
  show(h("h1", {}, "Staff"),
    h("table", { id: "staff-list" }, h("thead", {}, h("tr", {}, ["name", "role", "state", "created by", "created", ""].map((x) => h("th", {}, x)))),
      h("tbody", {}, accountRows)),
    accounts.items.length ? "" : h("p", { class: "muted" }, "No personal accounts yet: everyone signs in with a shared token."),
    create,
    h("h2", {}, "API tokens"),
    h("table", { id: "token-list" }, h("thead", {}, h("tr", {}, ["owner", "role", "made by", "made", "expires", "last used", ""].map((x) => h("th", {}, x)))),
      h("tbody", {}, tokenRows)),
    accounts.items.length ? mint : "");
}

async function statsPage(show) {
  const s = await api("GET", "/api/stats");
  const fig = (label, v) => h("div", { class: "figure" }, label, h("b", {}, v));
  show(h("h1", {}, "Stats"), h("div", { class: "grid" },
    fig("Sign-ups today", s.registrations.today), fig("Sign-ups yesterday", s.registrations.yesterday),
    fig("Bets today", s.bets.today), fig("Bets yesterday", s.bets.yesterday),
    fig("Staked today", s.volume.today), fig("Staked yesterday", s.volume.yesterday),
    fig("Players online", s.users_online)));
}

// ---------------------------------------------------------------- routing

async function route() {
  clearTimeout(state.timer);
  // Only the newest navigation draws: a page whose data comes back after the address changed (or
  // after a newer refresh of it) is dropped rather than drawn over the newer one.
  const gen = ++state.gen;
  const show = (...nodes) => {
    if (gen !== state.gen) return false;
    render(...nodes);
    return true;
  };
  document.getElementById("paused").hidden = true;
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, query] = hash.split("?");
  const parts = path.split("/");
  if (!state.token) return showSignedOut();
  if (!state.who) {
    try { state.who = await api("GET", "/api/whoami"); } catch (e) { showError(e); return showSignedOut(); }
  }
  document.getElementById("nav").hidden = false;
  document.getElementById("signout").hidden = false;
  document.getElementById("who").textContent = `${state.who.name} (${state.who.role})`;
  for (const a of document.querySelectorAll("#nav a[data-role]")) a.hidden = !can(a.dataset.role);
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.page === (parts[0] || "matches"));
  try {
    switch (parts[0]) {
      case "users": return await usersPage(parts.slice(1).join("/"), query, show);
      case "bets": return await betsPage(query || "", show);
      case "reports": return await reportsPage(query, show);
      case "audit": return await auditPage(query, show);
      case "approvals": return await approvalsPage(query, show);
      case "staff": return await staffPage(show);
      case "announcements": return announcementsPage(show);
      case "ops": return await opsPage(show);
      case "stats": return await statsPage(show);
      case "matches":
      case "":
        return parts[1] ? await matchPage(parts[1], show) : await matchesPage(query || "", show);
      default: return show(h("p", {}, "No such page."));
    }
  } catch (e) {
    if (gen === state.gen) showError(e);
  }
}

function showSignedOut() {
  document.getElementById("nav").hidden = true;
  document.getElementById("signout").hidden = true;
  document.getElementById("who").textContent = "";
  signInPage();
}

window.addEventListener("hashchange", () => { clearMessages(); route(); });
document.getElementById("signout").addEventListener("click", () => signOut());
route();
