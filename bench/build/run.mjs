#!/usr/bin/env node
// Cached rebuild: `lading build` vs `buildah bud --layers` on the same
// Containerfile and context (the shared benchmark payload). Each tool builds
// once cold, then N times unchanged; medians of wall time are reported.
// Usage: node bench/build/run.mjs [RUNS]   (needs root for buildah's storage)
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sharedPath } from "../shared.mjs";

const runs = Number(process.argv[2] ?? 5);
const root = new URL("../..", import.meta.url).pathname;
const work = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), "lading-bench-build-"));
try {
  const ctx = join(work, "ctx");
  execFileSync("python3", [sharedPath("bench/gen-payload.py"), ctx], { stdio: "ignore" });
  writeFileSync(join(ctx, "Containerfile"), "FROM scratch\nENV APP=/app\nCOPY src/ /app/src/\nCOPY blobs/ /app/blobs/\nLABEL bench=build\nCMD [\"/app/run\"]\n");
  const lstore = join(work, "lading-store");
  const broot = join(work, "buildah");
  mkdirSync(broot);
  const lading = ["node", [join(root, "bin/lading.js"), "build", "--progress", "quiet", "--store", lstore, ctx]];
  const buildah = ["buildah", ["--root", join(broot, "root"), "--runroot", join(broot, "run"), "--storage-driver", "vfs", "bud", "--layers", "-q", "-f", join(ctx, "Containerfile"), "-t", "bench:latest", ctx]];
  const time = ([cmd, args]) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const cold = { lading: time(lading), buildah: time(buildah) };
  const warm = { lading: [], buildah: [] };
  for (let i = 0; i < runs; i++) {
    warm.lading.push(time(lading));
    warm.buildah.push(time(buildah));
  }
  const rows = [
    ["cold build", cold.lading, cold.buildah],
    [`cached rebuild (median of ${runs})`, median(warm.lading), median(warm.buildah)],
  ];
  console.log("| case | lading s | buildah bud --layers s | ratio |\n|---|---|---|---|");
  for (const [name, l, b] of rows) console.log(`| ${name} | ${l.toFixed(2)} | ${b.toFixed(2)} | ${(l / b).toFixed(2)}× |`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
