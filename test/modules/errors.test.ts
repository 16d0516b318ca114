/**
 * The errors a module's user will hit (issue 15), each through the CLI:
 * what went wrong, where (file:line where there is one), what to do, and
 * the exit code (2 for a call the module cannot take, 1 for a module that
 * cannot load or a function that throws).
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lading } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { fixture } from "./fixtures.js";

const t = tempDir("lading-modules-errors-");
const env = { LADING_HOME: join(t.path, "store") };
after(() => t.cleanup());

// Relative paths in messages are relative to the current folder: run from the fixtures' parent.
const call = (mod: string, args: string[]) => lading(["call", "-m", mod, ...args], { env, cwd: fixture(".") });

test("an unknown function names the closest ones; an unknown flag too; nothing chains after a scalar", async () => {
  const r = await call("ci", ["helo"]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'lading: unknown function "helo" of module object Pipeline; did you mean hello? (its functions: build, hello, sum, pick, secret-length, first-line, notes, tags, release)\n');
  const chained = await call("ci", ["notes", "--text", "x", "entrys"]);
  assert.equal(chained.code, 2);
  assert.match(chained.stderr, /unknown function "entrys" of Directory; did you mean entries\?/);
  const flag = await call("ci", ["hello", "--nmae", "x"]);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /hello has no flag --nmae; did you mean --name\? \(its flags: --name, --times, --shout\)/);
  const scalar = await call("ci", ["hello", "stdout"]);
  assert.equal(scalar.code, 2);
  assert.match(scalar.stderr, /hello returns string: nothing can be chained after it \(got "stdout"\)/);
});

test("a missing or ill-typed argument names the function's file:line and the type wanted", async () => {
  const missing = await call("ci", ["build", "--src", "."]);
  assert.equal(missing.code, 2);
  assert.equal(missing.stderr, "lading: ci/ci/pipeline.ts:17: build: missing --base (Container): The base image.\n");
  const notNumber = await call("ci", ["hello", "--times", "twice"]);
  assert.equal(notNumber.code, 2);
  assert.equal(notNumber.stderr, 'lading: ci/ci/pipeline.ts:27: hello --times: expected a number, got "twice"\n');
  const notInUnion = await call("ci", ["pick", "--mode", "medium", "--level", "quiet"]);
  assert.match(notInUnion.stderr, /ci\/ci\/pipeline.ts:37: pick --mode: "medium" is not one of fast, slow/);
  const notInEnum = await call("ci", ["pick", "--mode", "fast", "--level", "shouty"]);
  assert.match(notInEnum.stderr, /pick --level: "shouty" is not one of Quiet, Loud/);
  const noDir = await call("ci", ["build", "--base", "busybox", "--src", "no/such/dir"]);
  assert.equal(noDir.code, 2);
  assert.match(noDir.stderr, /build --src: directory .*no\/such\/dir does not exist/);
  const noValue = await call("ci", ["hello", "--name"]);
  assert.match(noValue.stderr, /hello --name: a value \(string\) is missing/);
});

test("an entry that is not there, an object that is not exported, no lading.json, a bad lading.json: exit 1, saying what to fix", async () => {
  const entry = await call("bad-entry", ["build"]);
  assert.equal(entry.code, 1);
  assert.match(entry.stderr, /bad-entry\/lading.json: entry build\/pipeline.ts not found \(looked for .*bad-entry\/build\/pipeline.ts\)/);

  const empty = join(t.path, "empty");
  mkdirSync(empty);
  writeFileSync(join(empty, "lading.json"), '{ "name": "empty" }');
  const noDefault = await lading(["functions", "-m", empty], { env });
  assert.equal(noDefault.code, 1);
  assert.match(noDefault.stderr, /entry not found: no "entry" given and neither index.ts nor src\/index.ts exists/);

  const object = await call("bad-object", ["build"]);
  assert.equal(object.code, 1);
  assert.equal(object.stderr, 'lading: bad-object/index.ts: object "Pipeline" is not an exported class of the entry; did you mean Pipline? (exported classes: Pipline); export it (`export class Pipeline { … }`), or fix "object" in lading.json\n');

  const none = await lading(["call", "hello"], { env, cwd: t.path });
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no module here \(no lading.json\); run `lading init` to make one, or pass -m DIR/);

  writeFileSync(join(empty, "lading.json"), '{ "name": "empty", "entrypoint": "x.ts" }');
  const badKey = await lading(["functions", "-m", empty], { env });
  assert.equal(badKey.code, 1);
  assert.match(badKey.stderr, /lading.json: unknown key "entrypoint" \(known: name, entry, object, dependencies\)/);
});

test("code that does not compile is shown at its file:line:column", async () => {
  const r = await call("bad-syntax", ["build"]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'lading: module bad-syntax does not compile:\nbad-syntax/index.ts:3:21: Unexpected ";"\n        return "built" +;\n');
});

test("a function that throws: its message and stack, trimmed to the module's own frames at their TypeScript lines", async () => {
  const r = await call("throws", ["release", "--version", "abc"]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'lading: Throws.release threw: version "abc" is not a number\n    at check (throws/index.ts:2:37)\n    at Throws.release (throws/index.ts:9:5)\n');
  const ok = await call("throws", ["release", "--version", "12"]);
  assert.equal(ok.stdout, "12\n", ok.stderr);
});
