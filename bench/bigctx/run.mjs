#!/usr/bin/env node
// Big build contexts (issue 22): lading's withDirectory of a host directory
// into a fresh store (bench/bigctx/lading-copy.mjs: connect → withDirectory →
// digest) against `umoci insert` of the same directory, run back to back,
// RUNS times each (default 3): medians of wall time, CPU time (user+sys)
// and peak RSS, and the median of the per-pair wall ratios (each pair ran
// in the same minute, so the ratio holds up better when other work shares
// the CPU; CPU time is the steadiest figure then).
// Usage: npx tsc -p tsconfig.json && node bench/bigctx/run.mjs [RUNS] [CASE...]
//   CASE: payload (20k files), copies:2 (40k), copies:4 (80k), links:4 (80k
//   hard-linked), small:1000000 (1M small files); default: all five.
// Contexts are generated once into $BENCH_CONTEXTS (default
// /var/tmp/lading-bigctx) by gen-context.mjs and kept for later runs.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { contextDir } from "./gen-context.mjs";

const args = process.argv.slice(2);
const runs = /^\d+$/.test(args[0] ?? "") ? Number(args.shift()) : 3;
const cases = args.length ? args : ["payload", "copies:2", "copies:4", "links:4", "small:1000000"];
const repo = new URL("../..", import.meta.url).pathname;
const work = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), "lading-bench-bigctx-"));

/** Runs a command under GNU time; returns wall s, CPU s and peak RSS MB. */
function timed(cmd, cmdArgs) {
  const r = spawnSync("/usr/bin/time", ["-f", "BENCH %e %U %S %M", cmd, ...cmdArgs], { encoding: "utf8", maxBuffer: 1 << 26 });
  const line = r.stderr.split("\n").find((l) => l.startsWith("BENCH "));
  if (r.status !== 0 || !line) throw new Error(`${cmd} ${cmdArgs.join(" ")} failed (${r.status}): ${r.stderr}`);
  const [, wall, user, sys, rssKb] = line.split(" ").map(Number);
  return { wall, cpu: user + sys, rss: rssKb / 1024 };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const du = (dir) => execFileSync("du", ["-sb", "--apparent-size", dir], { encoding: "utf8" }).split("\t")[0] / 1e6;
const files = (dir) => Number(execFileSync("sh", ["-c", 'find "$1" -type f | wc -l', "sh", dir], { encoding: "utf8" }).trim());

try {
  console.log(`| context | lading wall s / CPU s / peak RSS MB | umoci insert wall s / CPU s / peak RSS MB | lading / umoci wall (median of pairs) |`);
  console.log("|---|---:|---:|---:|");
  for (const kind of cases) {
    const dir = contextDir(kind);
    const l = [];
    const u = [];
    const ratios = [];
    for (let i = 0; i < runs; i++) {
      const load = loadavg()[0].toFixed(1);
      const store = join(work, `store-${i}`);
      const a = timed(process.execPath, [join(repo, "bench/bigctx/lading-copy.mjs"), dir, store]);
      rmSync(store, { recursive: true, force: true });
      const layout = join(work, `umoci-${i}`);
      execFileSync("umoci", ["init", "--layout", layout]);
      execFileSync("umoci", ["new", "--image", `${layout}:t`]);
      const b = timed("umoci", ["insert", "--image", `${layout}:t`, dir, "/p"]);
      rmSync(layout, { recursive: true, force: true });
      l.push(a);
      u.push(b);
      ratios.push(a.wall / b.wall);
      // Each pair as it ends, for runs cut short (a million files takes minutes per pair on a busy machine).
      console.error(`${kind} run ${i + 1} (load ${load}): lading ${a.wall} s / ${a.cpu.toFixed(2)} s CPU / ${a.rss.toFixed(0)} MB; umoci ${b.wall} s / ${b.cpu.toFixed(2)} s CPU / ${b.rss.toFixed(0)} MB`);
    }
    const label = `${kind}: ${Math.round(du(dir))} MB, ${files(dir)} files`;
    const fmt = (rs) => `${median(rs.map((r) => r.wall)).toFixed(2)} / ${median(rs.map((r) => r.cpu)).toFixed(2)} / ${median(rs.map((r) => r.rss)).toFixed(0)}`;
    console.log(`| ${label} | ${fmt(l)} | ${fmt(u)} | ${median(ratios).toFixed(2)}× (${ratios.map((r) => r.toFixed(2)).join(", ")}) |`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
