#!/usr/bin/env node
// `lading call` overhead (issue 15): a module function called through the
// CLI (`lading call -m fixtures/modules/ci notes --text T`) against a plain
// node script running the same function body on the API (plain.mjs), both
// on one warm store, interleaved, RUNS pairs (default 5); medians and the
// median of per-pair differences. Also the first call into a fresh store
// (transpile with esbuild, signatures with the TypeScript compiler).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..");
const runs = Number(process.argv[2] ?? process.env.BENCH_RUNS ?? 5);
const tmp = mkdtempSync(join(tmpdir(), "lading-bench-modules-"));
const env = { ...process.env, LADING_HOME: join(tmp, "store") };

// GNU time gives each run's CPU (user + sys), which a loaded machine distorts less than wall time.
function timed(args, extraEnv = {}) {
  const start = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-f", "cpu %U %S", process.execPath, ...args], { env: { ...env, ...extraEnv }, encoding: "utf8" });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(" ")} failed: ${r.stderr}`);
  const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
  return { ms, cpu: m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN, out: r.stdout };
}

const call = ["bin/lading.js", "call", "--progress", "quiet", "-m", join(repo, "fixtures/modules/ci"), "notes", "--text", "bench"].map((a, i) => (i === 0 ? join(repo, a) : a));
const plain = [join(here, "plain.mjs"), "bench"];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  const load = loadavg()[0].toFixed(2);
  const cold = [];
  for (let i = 0; i < Math.min(runs, 3); i++) cold.push(timed(call, { LADING_HOME: join(tmp, `cold-${i}`) }).ms);
  // Warm both: the call's transpiled entry is cached, the store exists.
  const a = timed(call).out;
  const b = timed(plain).out;
  if (a !== b) throw new Error(`the call and the plain script disagree: ${a} vs ${b}`);
  const rows = [];
  for (let i = 0; i < runs; i++) {
    const p = timed(plain);
    const c = timed(call);
    rows.push({ plain: p.ms, call: c.ms, diff: c.ms - p.ms, plainCpu: p.cpu, callCpu: c.cpu });
  }
  const mp = median(rows.map((r) => r.plain));
  const mc = median(rows.map((r) => r.call));
  const md = median(rows.map((r) => r.diff));
  console.log(`load average at start: ${load}; ${runs} interleaved pairs`);
  console.log(`plain script (same function on the API): median ${mp.toFixed(0)} ms`);
  console.log(`lading call, warm cache:                 median ${mc.toFixed(0)} ms`);
  console.log(`overhead (median of per-pair differences): ${md.toFixed(0)} ms; ratio ${(mc / mp).toFixed(2)}×`);
  console.log(`CPU (user+sys): plain median ${median(rows.map((r) => r.plainCpu)).toFixed(0)} ms, call median ${median(rows.map((r) => r.callCpu)).toFixed(0)} ms, per-pair difference median ${median(rows.map((r) => r.callCpu - r.plainCpu)).toFixed(0)} ms`);
  console.log(`first call into a fresh store (esbuild + TypeScript signatures): median ${median(cold).toFixed(0)} ms`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
