#!/usr/bin/env node
// What `import { connect } from "lading"` costs a user's script (issue 17):
// a Node that imports nothing (the floor), one that imports "lading" as the
// package's "exports" resolve it (the bundle, dist/lib), and one that
// imports dist/src/index.js (the modules tsc writes); then both again with
// bigctx's connect() → withDirectory("/p", a one-file folder) → digest()
// into a fresh store: the fixed cost of bench/bigctx/lading-copy.mjs.
// Interleaved RUNS times (default 15). Each run prints its own CPU time
// (process.cpuUsage, all threads, µs; GNU time counts in 10 ms ticks) and
// the time of the import() itself (performance.now around it); wall time is
// the spawn's. Medians, and the median of per-round differences to the floor.
// The library's code cache (dist/.code-cache-lib) is removed first, then
// written by a warm-up run of the copy, as by a user's first run of it.
// Usage: npm run build && node bench/bigctx/import.mjs [RUNS]
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const runs = Number(process.argv[2] ?? 15);
const repo = fileURLToPath(new URL("../..", import.meta.url));
const report = "const u = process.cpuUsage(); console.log(JSON.stringify({ cpu: (u.user + u.system) / 1000, imp }));";
const work = mkdtempSync(join(tmpdir(), "lading-bench-import-"));
const dir = join(work, "ctx");
mkdirSync(dir);
writeFileSync(join(dir, "hello.txt"), "hello\n");
const store = join(work, "store");
const copy = `await connect((c) => c.container().withDirectory("/p", c.host().directory(${JSON.stringify(dir)})).digest(), { store: ${JSON.stringify(store)} });`;
const script = (spec, run = false) =>
  spec ? `const t = performance.now(); const { connect } = await import(${JSON.stringify(spec)}); const imp = performance.now() - t; ${run ? copy : ""} ${report}` : `const imp = 0; ${report}`;
const variants = {
  floor: script(undefined),
  'import "lading"': script("lading"),
  "import dist/src": script("./dist/src/index.js"),
  '"lading" + copy': script("lading", true),
  "dist/src + copy": script("./dist/src/index.js", true),
};

const results = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
const loads = [];
const run = (code) => spawnSync(process.execPath, ["--input-type=module", "-e", code], { cwd: repo, encoding: "utf8" });
try {
  rmSync(join(repo, "dist", ".code-cache-lib"), { recursive: true, force: true });
  for (const name of ['"lading" + copy', "dist/src + copy"]) {
    const r = run(variants[name]);
    if (r.status !== 0) throw new Error(`${name}: ${r.stderr}`);
    rmSync(store, { recursive: true, force: true });
  }
  for (let i = 0; i < runs; i++) {
    loads.push(loadavg()[0]);
    for (const [name, code] of Object.entries(variants)) {
      rmSync(store, { recursive: true, force: true });
      const t = process.hrtime.bigint();
      const r = run(code);
      const wall = Number(process.hrtime.bigint() - t) / 1e6;
      if (r.status !== 0) throw new Error(`${name}: ${r.stderr}`);
      results[name].push({ wall, ...JSON.parse(r.stdout) });
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const f = (x) => x.toFixed(1);
console.log(`${runs} rounds, load average ${f(median(loads))} (median at each round's start)`);
console.log("| | wall ms | CPU ms | import() ms | wall − floor, ms (median of rounds) | CPU − floor |");
console.log("|---|---:|---:|---:|---:|---:|");
const floor = results.floor;
for (const [name, rs] of Object.entries(results)) {
  const dw = rs.map((r, i) => r.wall - floor[i].wall);
  const dc = rs.map((r, i) => r.cpu - floor[i].cpu);
  console.log(`| ${name} | ${f(median(rs.map((r) => r.wall)))} | ${f(median(rs.map((r) => r.cpu)))} | ${name === "floor" ? "" : f(median(rs.map((r) => r.imp)))} | ${name === "floor" ? "" : f(median(dw))} | ${name === "floor" ? "" : f(median(dc))} |`);
}
