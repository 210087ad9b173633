// The public types: the first app of docs/clients.md and test/types/usage.ts compile against dist/
// (usage.ts also holds calls that must not), no public type is `any`, and the guide shows the
// example as it is.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);
const pkg = new URL("..", import.meta.url).pathname;

test("the example and the typed uses compile, and the wrong uses do not", async () => {
  const tsc = join(pkg, "node_modules/typescript/bin/tsc");
  const result = await run(process.execPath, [tsc, "-p", "test/types/tsconfig.json"], { cwd: pkg }).catch((e) => e);
  assert.equal(result.code ?? 0, 0, `${result.stdout}${result.stderr}`);
});

test("no declaration in dist/ uses any", async () => {
  const files = (await readdir(join(pkg, "dist"), { recursive: true })).filter((f) => f.endsWith(".d.ts"));
  assert.ok(files.includes("index.d.ts"), "dist/ is built");
  for (const file of files) {
    const code = (await readFile(join(pkg, "dist", file), "utf8")).replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
    assert.doesNotMatch(code, /\bany\b/, file);
  }
});

test("docs/clients.md shows examples/first-app.ts as it is", async () => {
  const example = await readFile(join(pkg, "examples/first-app.ts"), "utf8");
  const guide = await readFile(join(pkg, "../../docs/clients.md"), "utf8");
  assert.ok(guide.includes("```ts\n" + example + "```\n"), "copy examples/first-app.ts into the guide's first app");
});
