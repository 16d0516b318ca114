/**
 * The CI skip check of test/run.mjs, fed by node's real runner: a file with
 * a passing test, an allowed skip and two skips nobody allowed (one nested,
 * one without a reason) goes through test/skip-reporter.mjs, and the check
 * must name exactly the two unexpected ones with their reasons.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_ROOT } from "../helpers/shared.js";
import { tempDir } from "../helpers/tmp.js";

interface Skip {
  test: string;
  reason: string;
}
interface SkipCheck {
  readSkips(file: string, pass: string, base: string): { skips: Skip[]; complete: boolean };
  unexpectedSkips(skips: Skip[], allowed?: Record<string, string>): string[];
  ALLOWED_IN_CI: Record<string, string>;
}

const FAKE = `
import { describe, it, test } from "node:test";
test("runs", () => {});
test("needs a GPU", { skip: "no GPU here" }, () => {});
describe("Containerfile builds", () => {
  it("RUN step", (t) => t.skip("the exec runtime is not available: boom"));
});
test("quiet", (t) => t.skip());
`;

test("under CI, the runner's skip check names each skip not on the allowed list, with its reason", async () => {
  const check = (await import(pathToFileURL(join(REPO_ROOT, "test", "ci-skips.mjs")).href)) as SkipCheck;
  const t = tempDir("lading-ci-skips-");
  try {
    writeFileSync(join(t.path, "fake.test.mjs"), FAKE);
    const out = join(t.path, "skips.jsonl");
    // Without NODE_TEST_CONTEXT, which would make the inner runner report to this one instead of to its reporters.
    const env = { ...process.env, NODE_TEST_CONTEXT: undefined };
    const r = spawnSync(process.execPath, ["--test", `--test-reporter=${join(REPO_ROOT, "test", "skip-reporter.mjs")}`, `--test-reporter-destination=${out}`, "fake.test.mjs"], { cwd: t.path, env, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const { skips, complete } = check.readSkips(out, "root", t.path);
    assert.ok(complete);
    assert.deepEqual(skips, [
      { test: "root: fake.test.mjs › needs a GPU", reason: "no GPU here" },
      { test: "root: fake.test.mjs › Containerfile builds › RUN step", reason: "the exec runtime is not available: boom" },
      { test: "root: fake.test.mjs › quiet", reason: "" },
    ]);
    assert.deepEqual(check.unexpectedSkips(skips, { "root: fake.test.mjs › needs a GPU": "this machine has none" }), [
      "root: fake.test.mjs › Containerfile builds › RUN step: skipped (the exec runtime is not available: boom) but not allowed to skip in CI (test/ci-skips.mjs)",
      "root: fake.test.mjs › quiet: skipped (no reason given) but not allowed to skip in CI (test/ci-skips.mjs)",
    ]);
    // The same skip in the other pass is another entry: allowed as root does not mean allowed rootless.
    assert.equal(check.unexpectedSkips([{ test: "rootless: fake.test.mjs › needs a GPU", reason: "no GPU here" }], { "root: fake.test.mjs › needs a GPU": "x" }).length, 1);
    // A reporter that never ran (or died) leaves no end mark: the list is not trusted.
    assert.equal(check.readSkips(join(t.path, "none.jsonl"), "root", t.path).complete, false);
    writeFileSync(join(t.path, "cut.jsonl"), readFileSync(out, "utf8").split("\n").slice(0, 2).join("\n"));
    assert.equal(check.readSkips(join(t.path, "cut.jsonl"), "root", t.path).complete, false);
  } finally {
    t.cleanup();
  }
});

test("every skip allowed in CI says why", async () => {
  const { ALLOWED_IN_CI } = (await import(pathToFileURL(join(REPO_ROOT, "test", "ci-skips.mjs")).href)) as SkipCheck;
  for (const [name, why] of Object.entries(ALLOWED_IN_CI)) {
    assert.match(name, /^(root|rootless): [\w./-]+\.test\.js › /, name);
    assert.ok(why.length > 20, `${name}: no reason`);
  }
});
