#!/usr/bin/env node
// Runs the whole suite with node's test runner, one `node --test` per file,
// a few files at a time: every file as the current user (the root pass when
// root), and, when root and the rootless script exists, the exec tests again
// as an unprivileged user (the rootless pass). The two passes share one queue,
// longest files first (a long file started last would stretch the run by its
// whole length); a file's rootless run waits for its root run (they share
// markers and caches, and the root run makes the Debian rootfs the other
// needs). Each file's output is printed whole when it ends; the run closes
// with one "N passed, N failed, N skipped" line for both passes.
// Under CI=true a skip not listed in test/ci-skips.mjs fails the run.
//   LADING_TEST_JOBS=N   files at once (default 2, the CI machine's vCPUs)
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { readSkips, unexpectedSkips } from "./ci-skips.mjs";

const root = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
const only = process.argv.slice(2);
const ci = process.env.CI === "true";
const jobs = Math.max(1, Number(process.env.LADING_TEST_JOBS) || 2);
/** Each file's duration in the last runs ("<pass>: <file under dist/test>" → seconds), to start the longest first. */
const TIMES = join(root, ".cache", "test-times.json");
/**
 * For a fresh clone (no TIMES yet): the files that take longest, in seconds
 * (root pass, 2 at once, on a loaded 2-vCPU machine); any other counts as short.
 */
const SLOW = {
  "api/reproducible-debian.test.js": 160, // debootstrap, when the rootfs is not cached yet
  "frontends/compat-runner.test.js": 90,
  "store-lifecycle/crash.test.js": 95,
  "store-lifecycle/crash-registry.test.js": 80,
  "frontends/corpus.test.js": 50,
  "modules/deps.test.js": 40,
  "modules/call-cli.test.js": 30,
  "exec/services-redis.test.js": 30,
  "security/other-users.test.js": 27,
  "exec/debian.test.js": 25,
  "store-lifecycle/prune-race.test.js": 22,
  "exec/dagger-ports.test.js": 18,
  "api/reproducible-run.test.js": 17,
  "telemetry/html.test.js": 15,
  "modules/errors.test.js": 15,
  "modules/init.test.js": 15,
  "git/http-sources.test.js": 14,
  "store-lifecycle/concurrency.test.js": 13,
  "oci/compress.test.js": 12,
};

function find(dir) {
  const out = [];
  for (const n of readdirSync(dir).sort()) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (n.endsWith(".test.js")) out.push(p);
  }
  return out;
}

function readTimes() {
  try {
    return JSON.parse(readFileSync(TIMES, "utf8"));
  } catch {
    return {};
  }
}

// Skip records of both passes land here; the rootless pass writes as lading-ci, so the dir is traversable and the files writable.
const skipDir = mkdtempSync(join(tmpdir(), "lading-skips-"));
chmodSync(skipDir, 0o711);
function skipFile(name) {
  const f = join(skipDir, name);
  writeFileSync(f, "");
  chmodSync(f, 0o666);
  return f;
}

/** Runs one file: `prefix… node --test file`, the spec reporter's text and the child's stderr kept for printing, the skip reporter writing into a file of its own. */
function runFile(job, n) {
  const skips = skipFile(`${n}.jsonl`);
  const reporters = ["--test-reporter=spec", "--test-reporter-destination=stdout", `--test-reporter=${join(job.base, "test", "skip-reporter.mjs")}`, `--test-reporter-destination=${skips}`];
  // A test that hangs must fail the run, not stall CI: 5 minutes per test at most.
  const [cmd, ...rest] = [...job.prefix, process.execPath, "--test", ...reporters, "--test-timeout=300000", job.file];
  const start = Date.now();
  return new Promise((resolve) => {
    let text = "";
    const child = spawn(cmd, rest, { cwd: job.base, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (c) => (text += c.toString()));
    child.stderr.on("data", (c) => (text += c.toString()));
    child.on("error", (e) => (text += `run: ${cmd}: ${e.message}\n`)); // "close" follows, with a failing code
    child.on("close", (code, signal) => {
      const seconds = (Date.now() - start) / 1000;
      const count = (k) => [...text.matchAll(new RegExp(`^(?:ℹ|#) ${k} (\\d+)$`, "gm"))].reduce((a, m) => a + Number(m[1]), 0);
      const result = { code: code ?? 1, pass: count("pass"), fail: count("fail"), skipped: count("skipped"), seconds };
      const { skips: found, complete } = readSkips(skips, job.pass, join(job.base, "dist", "test"));
      // The spec summary leaves skipped suites (describe with skip) out of its count; the records have them.
      if (complete) result.skipped = found.length;
      else unrecorded.push(`${job.key}: the skip reporter did not finish, so its skips are unknown`);
      skipsFound.push(...found);
      process.stdout.write(`\n━━ ${job.key} (${seconds.toFixed(1)} s${result.code !== 0 ? `, exit ${signal ?? code}` : ""})\n${text}`);
      resolve(result);
    });
  });
}

/**
 * Runs the jobs `jobs` at a time, longest first by `weight`; a job with
 * `after` waits until that job ended, and `before()` runs just as it starts.
 */
async function runAll(queue) {
  const pending = [...queue].sort((a, b) => b.weight - a.weight);
  const ended = new Set();
  const results = [];
  let n = 0;
  await new Promise((resolve) => {
    let running = 0;
    const next = () => {
      while (running < jobs) {
        const i = pending.findIndex((j) => !j.after || ended.has(j.after));
        if (i < 0) break;
        const [job] = pending.splice(i, 1);
        running++;
        job.before?.();
        runFile(job, n++).then((r) => {
          results.push({ job, ...r });
          ended.add(job);
          running--;
          next();
        });
      }
      if (running === 0 && pending.length === 0) resolve();
    };
    next();
  });
  return results;
}

const skipsFound = [];
const unrecorded = [];
let results = [];
let copy;
const wallStart = Date.now();
try {
  const times = readTimes();
  const weight = (key, rel) => times[key] ?? SLOW[rel] ?? 5;
  const testRoot = join(root, "dist", "test");
  // A filter names test files by a part of their path; a source path (test/x/y.test.ts) names its compiled file.
  const filters = only.map((o) => o.replace(/\.test\.ts$/, ".test.js"));
  const files = find(testRoot).filter((f) => filters.length === 0 || filters.some((o) => f.includes(o)));
  if (files.length === 0) {
    console.error(`test/run.mjs: no compiled test file (under dist/test) matches ${only.join(", ")}; give a part of its path, e.g. test/api/outputs`);
    rmSync(skipDir, { recursive: true, force: true });
    process.exit(2);
  }
  const firstPass = process.getuid?.() === 0 ? "root" : "rootless";
  const queue = files.map((file) => {
    const rel = relative(testRoot, file);
    const key = `${firstPass}: ${rel}`;
    return { pass: firstPass, key, rel, file, base: root, prefix: [], weight: weight(key, rel) };
  });
  // Tests of the root pass act as the unprivileged user too (another local user, podman as that user):
  // on a fresh machine it does not exist yet, so it is made now, with its subordinate ranges, as the rootless pass would.
  const rootless = join(root, ".ci", "rootless.sh");
  if (process.getuid?.() === 0 && existsSync(rootless) && spawnSync("bash", [rootless, "true"], { stdio: "inherit" }).status !== 0) {
    console.log("run: could not make the unprivileged test user (bash .ci/rootless.sh true failed)");
  }

  const execDir = join(testRoot, "exec");
  if (process.getuid?.() === 0 && existsSync(rootless) && existsSync(execDir) && process.env.LADING_SKIP_ROOTLESS !== "1" && only.length === 0) {
    // The clone may sit where that user cannot read (under /root, say): then run from a readable copy,
    // with shared/ beside it as beside the clone.
    let base = root;
    let syncCaches;
    if (spawnSync("bash", [rootless, "test", "-r", join(execDir, "api.test.js")], { stdio: "ignore" }).status !== 0) {
      copy = mkdtempSync(join(tmpdir(), "lading-rootless-"));
      base = join(copy, "repo");
      mkdirSync(base);
      for (const part of ["package.json", "bin", "dist", "node_modules", "build", "vendor", "fixtures", ".ci", "test"]) {
        if (!existsSync(join(root, part))) continue;
        mkdirSync(dirname(join(base, part)), { recursive: true });
        cpSync(join(root, part), join(base, part), { recursive: true });
      }
      if (existsSync(join(root, "..", "shared"))) symlinkSync(join(root, "..", "shared"), join(copy, "shared"));
      spawnSync("chmod", ["-R", "a+rX", copy]);
      // The Debian rootfs and packages the root pass caches: the root run of a file makes what it needs before
      // its rootless run starts, so what is new is copied then (whole files only: they are renamed into place).
      syncCaches = () => {
        for (const part of [".cache/debootstrap", ".cache/debs"]) {
          if (!existsSync(join(root, part))) continue;
          mkdirSync(join(base, part), { recursive: true });
          for (const n of readdirSync(join(root, part))) {
            if (n.startsWith("building-") || n.endsWith(".lock") || existsSync(join(base, part, n))) continue;
            cpSync(join(root, part, n), join(base, part, n), { recursive: true });
          }
        }
        spawnSync("chmod", ["-R", "a+rX", join(base, ".cache")]);
      };
      console.log(`(the repo is not readable by the test user; the rootless pass runs from a copy in ${base})`);
    }
    for (const file of find(join(base, "dist", "test", "exec"))) {
      const rel = relative(join(base, "dist", "test"), file);
      const key = `rootless: ${rel}`;
      const twin = queue.find((j) => j.rel === rel);
      queue.push({ pass: "rootless", key, rel, file, base, prefix: ["bash", join(base, ".ci", "rootless.sh")], weight: weight(key, rel), after: twin, before: syncCaches });
    }
  }
  console.log(`run: ${queue.length} test files (${queue.filter((j) => j.pass === "rootless").length} of them the rootless pass), ${jobs} at a time, longest first`);
  results = await runAll(queue);
  // Kept for the next run's order (and for whoever wonders where the time goes).
  mkdirSync(dirname(TIMES), { recursive: true });
  writeFileSync(TIMES, JSON.stringify({ ...readTimes(), ...Object.fromEntries(results.map((r) => [r.job.key, Math.round(r.seconds * 10) / 10])) }, null, 1) + "\n");
} finally {
  rmSync(skipDir, { recursive: true, force: true });
  if (copy) rmSync(copy, { recursive: true, force: true });
}

const slowest = [...results].sort((a, b) => b.seconds - a.seconds).slice(0, 8);
console.log(`\nslowest files: ${slowest.map((r) => `${r.job.key} ${r.seconds.toFixed(0)} s`).join(", ")}; the whole run ${((Date.now() - wallStart) / 1000).toFixed(0)} s`);
const pass = results.reduce((a, r) => a + r.pass, 0);
const fail = results.reduce((a, r) => a + r.fail, 0);
const skipped = results.reduce((a, r) => a + r.skipped, 0);
const unexpected = ci ? [...unrecorded, ...unexpectedSkips(skipsFound)] : [];
if (unexpected.length > 0) console.log(`\nCI=true: skips not allowed in CI (${unexpected.length}):\n${unexpected.map((u) => `  ✖ ${u}`).join("\n")}`);
const failed = results.filter((r) => r.code !== 0 || r.fail > 0).map((r) => r.job.key);
if (failed.length > 0) console.log(`\nfailed files (${failed.length}): ${failed.join(", ")}`);
console.log(`\n${pass} passed, ${fail} failed, ${skipped} skipped`);
process.exit(results.some((r) => r.code !== 0) || fail > 0 || pass === 0 || unexpected.length > 0 ? 1 : 0);
