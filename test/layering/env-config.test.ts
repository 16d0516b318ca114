/**
 * Settings from the environment are read in one place (src/env-config.ts)
 * and documented in one table (the README's "Environment"): nothing else
 * in src/ reads a variable for a setting, and the table and the code name
 * the same variables.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ENV_SETTINGS, readEnvConfig } from "../../src/env-config.js";
import { REPO_ROOT as repoRoot } from "../helpers/shared.js";

const SRC = join(repoRoot, "src");

function* tsFiles(dir: string): Generator<string> {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) yield* tsFiles(p);
    else if (p.endsWith(".ts")) yield p;
  }
}

/**
 * Reads that are not lading's settings: where programs are found, a secret
 * taken from a variable the caller names, and git's and ssh's own
 * variables, which git/ hands to git and must not override (git/auth.ts).
 */
const ALLOWED = [/process\.env\.PATH\b/, /process\.env\[envVar\]/, /process\.env\.(SSH_AUTH_SOCK|GIT_SSH_COMMAND|GIT_SSH)\b/];

test("no file in src/ but env-config.ts reads a variable from process.env", () => {
  const reads: string[] = [];
  for (const f of tsFiles(SRC)) {
    if (f.endsWith("env-config.ts")) continue;
    readFileSync(f, "utf8").split("\n").forEach((line, i) => {
      if (/^\s*(\*|\/\/)/.test(line)) return; // comments and TSDoc examples
      for (const m of line.matchAll(/(?<![.\w])process\.env(\.[A-Za-z_]+|\[[^\]]+\])/g)) {
        if (!ALLOWED.some((re) => re.test(m[0]))) reads.push(`${f.slice(repoRoot.length + 1)}:${i + 1}: ${m[0]}`);
      }
    });
  }
  assert.deepEqual(reads, [], "read it in src/env-config.ts and pass it down");
});

test("the README's Environment table lists exactly the variables env-config.ts reads", () => {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  const section = readme.split(/^### Environment$/m)[1]?.split(/^#{2,3} /m)[0] ?? "";
  const documented = [...section.matchAll(/^\| `([A-Z_*]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual(documented.sort(), ENV_SETTINGS.map((s) => s.name).sort());
  const code = readFileSync(join(SRC, "env-config.ts"), "utf8");
  // A prefix read in code ("OTEL_") stands for its row ("OTEL_*").
  const readInCode = new Set([...code.split("export interface EnvConfig")[1]!.matchAll(/"([A-Z][A-Z_]+)"/g)].map((m) => (m[1]!.endsWith("_") ? m[1] + "*" : m[1])));
  assert.deepEqual([...readInCode].sort(), ENV_SETTINGS.map((s) => s.name).sort(), "every variable read is in ENV_SETTINGS, and the other way round");
});

test("readEnvConfig: empty means unset, `0` turns a default off, nothing else is invented", () => {
  const d = readEnvConfig({});
  assert.deepEqual(d, { sharedStore: false, deflate: "native", overlay: true, cgroup: true, spareHelper: true, subids: true, gc: { off: false }, debug: false, otel: {} });
  assert.deepEqual(readEnvConfig({ OTEL_SERVICE_NAME: "ci", TRACEPARENT: "00-x", OTELX: "no", HOME: "/h" }).otel, { OTEL_SERVICE_NAME: "ci", TRACEPARENT: "00-x" });
  const c = readEnvConfig({ LADING_HOME: "", LADING_OVERLAY: "0", LADING_SUBIDS: "0", LADING_SHARED_STORE: "1", LADING_DEFLATE: "wasm", LADING_GC: "OFF", LADING_GC_MAX_USED: "60%", SOURCE_DATE_EPOCH: "0", LADING_DEBUG: "1", DOCKER_CONFIG: "/d" });
  assert.equal(c.home, undefined);
  assert.deepEqual([c.overlay, c.subids, c.cgroup, c.sharedStore, c.deflate, c.debug], [false, false, true, true, "wasm", true]);
  assert.deepEqual(c.gc, { off: true, maxUsedSpace: "60%" });
  assert.equal(c.sourceDateEpoch, "0");
  assert.equal(c.dockerConfig, "/d");
});
