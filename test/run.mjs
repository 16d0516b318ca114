#!/usr/bin/env node
// Runs the whole suite with node's test runner, then (when root and the
// rootless script exists) the exec tests again as an unprivileged user,
// and closes with one "N passed, N failed" line for both runs.
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const only = process.argv.slice(2);

function find(dir) {
  const out = [];
  for (const n of readdirSync(dir).sort()) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (n.endsWith(".test.js")) out.push(p);
  }
  return out;
}

function run(cmd, args) {
  return new Promise((resolve) => {
    let text = "";
    const child = spawn(cmd, args, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
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

const files = find(join(root, "dist", "test")).filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
// A test that hangs must fail the run, not stall CI: 5 minutes per test at most.
const args = ["--test", "--test-reporter=spec", "--test-concurrency=2", "--test-timeout=300000", ...files];
const results = [await run(process.execPath, args)];

const rootless = join(root, ".ci", "rootless.sh");
const execDir = join(root, "dist", "test", "exec");
if (process.getuid?.() === 0 && existsSync(rootless) && existsSync(execDir) && process.env.LADING_SKIP_ROOTLESS !== "1" && only.length === 0) {
  console.log("\n== exec tests again, as an unprivileged user (rootless is the default case) ==");
  // The clone may sit where that user cannot read (under /root, say): then run from a readable copy.
  let base = root;
  let copy;
  if (spawnSync("bash", [rootless, "test", "-r", join(execDir, "api.test.js")], { stdio: "ignore" }).status !== 0) {
    copy = mkdtempSync("/var/tmp/lading-rootless-");
    for (const part of ["package.json", "bin", "dist", "node_modules", "fixtures", ".ci"]) if (existsSync(join(root, part))) cpSync(join(root, part), join(copy, part), { recursive: true });
    spawnSync("chmod", ["-R", "a+rX", copy]);
    base = copy;
    console.log(`(the repo is not readable by the test user; running from a copy in ${copy})`);
  }
  try {
    results.push(await run("bash", [join(base, ".ci", "rootless.sh"), process.execPath, "--test", "--test-reporter=spec", "--test-timeout=300000", ...find(join(base, "dist", "test", "exec"))]));
  } finally {
    if (copy) rmSync(copy, { recursive: true, force: true });
  }
}
const pass = results.reduce((a, r) => a + r.pass, 0);
const fail = results.reduce((a, r) => a + r.fail, 0);
const skipped = results.reduce((a, r) => a + r.skipped, 0);
console.log(`\n${pass} passed, ${fail} failed, ${skipped} skipped`);
process.exit(results.some((r) => r.code !== 0) || fail > 0 || pass === 0 ? 1 : 0);
