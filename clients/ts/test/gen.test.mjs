// src/generated/protocol.ts is what docs/schema/protocol.json generates (`npm run check-gen`), and
// the check fails, saying what to do, when the schema has moved on.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";

import { ERROR_NAMES, ErrorCode, MsgId, PUSH_NAMES, SESSION_MSG_IDS } from "../dist/index.js";

const run = promisify(execFile);
const pkg = new URL("..", import.meta.url).pathname;
const schemaPath = join(pkg, "../../docs/schema/protocol.json");
const gen = (...args) => run(process.execPath, ["scripts/gen.mjs", ...args], { cwd: pkg });
const temp = await mkdtemp(join(tmpdir(), "matchday-gen-"));
after(() => rm(temp, { recursive: true, force: true }));

test("npm run check-gen: the checked-in types are what the schema generates", async () => {
  const { stdout } = await run("npm", ["run", "--silent", "check-gen"], { cwd: pkg });
  assert.match(stdout, /matches/);
});

test("check-gen fails with exit 1 and says to run npm run gen when the schema changed", async () => {
  const schema = JSON.parse(await readFile(schemaPath, "utf8"));
  schema.$defs.BalanceReply.properties.currency = { type: "string" };
  const changed = join(temp, "protocol.json");
  await writeFile(changed, JSON.stringify(schema));
  const failure = await gen("--check", "--schema", changed).then(
    () => assert.fail("check-gen passed on a changed schema"),
    (e) => e,
  );
  assert.equal(failure.code, 1);
  assert.match(failure.stderr, /run npm run gen/);

  // What it would write has the change.
  const out = join(temp, "protocol.ts");
  await gen("--schema", changed, "--out", out);
  assert.match(await readFile(out, "utf8"), /export interface BalanceReply \{\n  balance: number;\n  currency\?: string;\n\}/);
});

test("the generated constants are the schema's messages, error codes and pushes", async () => {
  const x = JSON.parse(await readFile(schemaPath, "utf8"))["x-matchday"];
  for (const m of x.messages) assert.equal(MsgId[m.name.toUpperCase()], m.id, m.name);
  assert.equal(Object.keys(MsgId).length, x.messages.length);
  for (const c of x.error_codes) {
    assert.equal(ErrorCode[c.name.toUpperCase()], c.code, c.name);
    assert.equal(ERROR_NAMES[c.code], c.name);
  }
  const pushes = x.messages.filter((m) => m.direction === "push");
  assert.deepEqual(PUSH_NAMES, Object.fromEntries(pushes.map((m) => [m.id, m.name.replace(/^push_/, "")])));
  assert.deepEqual(SESSION_MSG_IDS, x.messages.filter((m) => m.session).map((m) => m.id));
  assert.equal(MsgId.PLACE_BET, 401);
  assert.equal(ErrorCode.ODDS_CHANGED, 1005);
});
