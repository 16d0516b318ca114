#!/usr/bin/env node
// Runs the whole suite with node's test runner, then (when root and the
// rootless script exists) the exec tests again as an unprivileged user,
// and closes with one "N passed, N failed, N skipped" line for both runs.
// Under CI=true a skip not listed in test/ci-skips.mjs fails the run.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { readSkips, unexpectedSkips } from "./ci-skips.mjs";

const root = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
const only = process.argv.slice(2);
const ci = process.env.CI === "true";

function find(dir) {
  const out = [];
  for (const n of readdirSync(dir).sort()) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (n.endsWith(".test.js")) out.push(p);
  }
  return out;
}

// Skip records from both passes land here; the rootless pass writes as lading-ci, so the dir is traversable and the files writable.
const skipDir = mkdtempSync(join(tmpdir(), "lading-skips-"));
chmodSync(skipDir, 0o711);
function skipFile(name) {
  const f = join(skipDir, name);
  writeFileSync(f, "");
  chmodSync(f, 0o666);
  return f;
}

/** Runs one pass: `prefix… node --test args…`, the spec reporter on stdout and the skip reporter writing into `skips`. */
function run(prefix, args, skips, reporter) {
  const reporters = ["--test-reporter=spec", "--test-reporter-destination=stdout", `--test-reporter=${reporter}`, `--test-reporter-destination=${skips}`];
  const [cmd, ...rest] = [...prefix, process.execPath, "--test", ...reporters, ...args];
  return new Promise((resolve) => {
    let text = "";
    const child = spawn(cmd, rest, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    child.stdout.on("data", (c) => {
      process.stdout.write(c);
      text += c.toString();
    });
    child.on("close", (code) => {
      const count = (k) => [...text.matchAll(new RegExp(`^(?:ℹ|#) ${k} (\\d+)$`, "gm"))].reduce((a, m) => a + Number(m[1]), 0);
      resolve({ code: code ?? 1, pass: count("pass"), fail: count("fail"), skipped: count("skipped") });
    });
  });
}

const results = [];
const skips = [];
const unrecorded = [];
function record({ skips: found, complete }, pass) {
  skips.push(...found);
  // The spec summary leaves skipped suites (describe with skip) out of its count; the records have them.
  if (complete) results.at(-1).skipped = found.length;
  else unrecorded.push(`the ${pass} pass: the skip reporter did not finish, so its skips are unknown`);
}
try {
  // A filter names test files by a part of their path; a source path (test/x/y.test.ts) names its compiled file.
  const filters = only.map((o) => o.replace(/\.test\.ts$/, ".test.js"));
  const files = find(join(root, "dist", "test")).filter((f) => filters.length === 0 || filters.some((o) => f.includes(o)));
  if (files.length === 0) {
    console.error(`test/run.mjs: no compiled test file (under dist/test) matches ${only.join(", ")}; give a part of its path, e.g. test/api/outputs`);
    process.exit(2);
  }
  const firstPass = process.getuid?.() === 0 ? "root" : "rootless";
  const firstSkips = skipFile("first.jsonl");
  // Tests of the root pass act as the unprivileged user too (another local user, podman as that user):
  // on a fresh machine it does not exist yet, so it is made now, with its subordinate ranges, as the rootless pass would.
  const ciUser = join(root, ".ci", "rootless.sh");
  if (process.getuid?.() === 0 && existsSync(ciUser) && spawnSync("bash", [ciUser, "true"], { stdio: "inherit" }).status !== 0) {
    console.log("run: could not make the unprivileged test user (bash .ci/rootless.sh true failed)");
  }
  // A test that hangs must fail the run, not stall CI: 5 minutes per test at most.
  results.push(await run([], ["--test-concurrency=2", "--test-timeout=300000", ...files], firstSkips, join(root, "test", "skip-reporter.mjs")));
  record(readSkips(firstSkips, firstPass, join(root, "dist", "test")), firstPass);

  const rootless = join(root, ".ci", "rootless.sh");
  const execDir = join(root, "dist", "test", "exec");
  if (process.getuid?.() === 0 && existsSync(rootless) && existsSync(execDir) && process.env.LADING_SKIP_ROOTLESS !== "1" && only.length === 0) {
    console.log("\n== exec tests again, as an unprivileged user (rootless is the default case) ==");
    // The clone may sit where that user cannot read (under /root, say): then run from a readable copy,
    // with shared/ beside it as beside the clone, and the Debian rootfs the root pass cached.
    let base = root;
    let copy;
    if (spawnSync("bash", [rootless, "test", "-r", join(execDir, "api.test.js")], { stdio: "ignore" }).status !== 0) {
      copy = mkdtempSync(join(tmpdir(), "lading-rootless-"));
      base = join(copy, "repo");
      mkdirSync(base);
      for (const part of ["package.json", "bin", "dist", "node_modules", "fixtures", ".ci", "test", ".cache/debootstrap", ".cache/debs"]) {
        if (!existsSync(join(root, part))) continue;
        mkdirSync(dirname(join(base, part)), { recursive: true });
        cpSync(join(root, part), join(base, part), { recursive: true });
      }
      if (existsSync(join(root, "..", "shared"))) symlinkSync(join(root, "..", "shared"), join(copy, "shared"));
      spawnSync("chmod", ["-R", "a+rX", copy]);
      console.log(`(the repo is not readable by the test user; running from a copy in ${base})`);
    }
    try {
      const rootlessSkips = skipFile("rootless.jsonl");
      results.push(await run(["bash", join(base, ".ci", "rootless.sh")], ["--test-timeout=300000", ...find(join(base, "dist", "test", "exec"))], rootlessSkips, join(base, "test", "skip-reporter.mjs")));
      record(readSkips(rootlessSkips, "rootless", join(base, "dist", "test")), "rootless");
    } finally {
      if (copy) rmSync(copy, { recursive: true, force: true });
    }
  }
} finally {
  rmSync(skipDir, { recursive: true, force: true });
}

const pass = results.reduce((a, r) => a + r.pass, 0);
const fail = results.reduce((a, r) => a + r.fail, 0);
const skipped = results.reduce((a, r) => a + r.skipped, 0);
const unexpected = ci ? [...unrecorded, ...unexpectedSkips(skips)] : [];
if (unexpected.length > 0) console.log(`\nCI=true: skips not allowed in CI (${unexpected.length}):\n${unexpected.map((u) => `  ✖ ${u}`).join("\n")}`);
console.log(`\n${pass} passed, ${fail} failed, ${skipped} skipped`);
process.exit(results.some((r) => r.code !== 0) || fail > 0 || pass === 0 || unexpected.length > 0 ? 1 : 0);
