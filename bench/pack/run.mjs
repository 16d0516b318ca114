#!/usr/bin/env node
// Pack benchmark: one host directory (the shared ~197 MB, 20,000-file
// payload) into one gzip layer, three ways:
//   lading     writeLayer (deterministic tar + parallel libdeflate gzip) into a
//              store (made beforehand, not timed, as umoci's image is); the
//              native deflate when npm install built it, and once more with
//              LADING_DEFLATE=wasm (the fallback)
//   tar|gzip   tar --sort=name -cf - | gzip -6
//   umoci      umoci insert into an empty image (only the insert is timed)
// Each runs RUNS times (default 3); medians of wall time, CPU time
// (user+sys of the process tree, from GNU time), peak RSS and compressed size.
// Usage: npx tsc -p tsconfig.json && node bench/pack/run.mjs [RUNS] [PAYLOAD_DIR]
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sharedPath } from "../shared.mjs";

const runs = Number(process.argv[2] ?? 3);
const repo = new URL("../..", import.meta.url).pathname;
const work = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), "lading-bench-pack-"));

/** Runs a command under GNU time; returns wall s, cpu s, peak RSS MB. */
function timed(cmd, args, opts = {}) {
  const r = spawnSync("/usr/bin/time", ["-f", "BENCH %e %U %S %M", cmd, ...args], { encoding: "utf8", maxBuffer: 1 << 26, ...opts });
  const line = r.stderr.split("\n").find((l) => l.startsWith("BENCH "));
  if (r.status !== 0 || !line) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  const [, wall, user, sys, rssKb] = line.split(" ").map(Number);
  return { wall, cpu: user + sys, rss: rssKb / 1024, stdout: r.stdout };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  const payload = process.argv[3] ?? join(work, "payload");
  if (!process.argv[3]) execFileSync("python3", [sharedPath("bench/gen-payload.py"), payload], { stdio: "ignore" });
  const { deflateBackend } = await import(join(repo, "dist/src/oci/deflate-native.js"));
  const gzipRow = `lading (gzip, ${deflateBackend()} deflate)`;
  const results = { [gzipRow]: [], "lading (gzip, wasm deflate)": [], "tar --sort=name \\| gzip -6": [], "umoci insert (gzip)": [], "lading (zstd -3)": [] };
  if (deflateBackend() === "wasm") delete results["lading (gzip, wasm deflate)"];
  /** A fresh, empty store, made outside the timing (as umoci init/new are). */
  const freshStore = (dir) => execFileSync(process.execPath, ["--input-type=module", "-e", `await (await import(${JSON.stringify(join(repo, "dist/src/store/store.js"))})).Store.open(${JSON.stringify(dir)})`]);
  for (let i = 0; i < runs; i++) {
    // lading
    const store = join(work, `store-${i}`);
    const pack = (name, env, compression = "gzip") => {
      freshStore(store);
      const r = timed(process.execPath, [join(repo, "bench/pack/lading-pack.mjs"), payload, store, "payload", compression], { env: { ...process.env, ...env } });
      results[name].push({ ...r, size: JSON.parse(r.stdout).descriptor.size });
      rmSync(store, { recursive: true, force: true });
    };
    pack(gzipRow, {});
    if (results["lading (gzip, wasm deflate)"]) pack("lading (gzip, wasm deflate)", { LADING_DEFLATE: "wasm" });
    pack("lading (zstd -3)", {}, "zstd");

    // tar | gzip -6
    const out = join(work, `tar-${i}.tar.gz`);
    const g = timed("sh", ["-c", `tar --sort=name --numeric-owner -C "$1" -cf - . | gzip -6 > "$2"`, "sh", payload, out]);
    // GNU time sees only sh's own RSS here; gzip's and tar's are a few MB.
    results["tar --sort=name \\| gzip -6"].push({ ...g, rss: NaN, size: statSync(out).size });
    rmSync(out);

    // umoci insert (init and new are not timed)
    const layout = join(work, `umoci-${i}`);
    execFileSync("umoci", ["init", "--layout", layout]);
    execFileSync("umoci", ["new", "--image", `${layout}:t`]);
    const u = timed("umoci", ["insert", "--image", `${layout}:t`, payload, "/payload"]);
    const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
    const manifest = JSON.parse(readFileSync(join(layout, "blobs/sha256", index.manifests[0].digest.slice(7)), "utf8"));
    results["umoci insert (gzip)"].push({ ...u, size: manifest.layers.at(-1).size });
    rmSync(layout, { recursive: true, force: true });
  }
  const gz = median(results["tar --sort=name \\| gzip -6"].map((r) => r.size));
  console.log(`| tool (median of ${runs}) | wall s | CPU s (user+sys) | peak RSS MB | layer bytes | size vs gzip -6 |`);
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const [name, rs] of Object.entries(results)) {
    const size = median(rs.map((r) => r.size));
    console.log(`| ${name} | ${median(rs.map((r) => r.wall)).toFixed(2)} | ${median(rs.map((r) => r.cpu)).toFixed(2)} | ${Number.isNaN(rs[0].rss) ? "n/a" : median(rs.map((r) => r.rss)).toFixed(0)} | ${size} | ${((size / gz - 1) * 100).toFixed(2)}% |`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
