#!/usr/bin/env node
// A CI runner with an empty disk (issue 18): `lading build --cache-from
// type=registry` of an unchanged 10-step Containerfile into an empty store,
// beside `lading pull` of the image that build gives (the floor: the same
// blobs, no build), and beside `buildah bud --layers --cache-from` of the
// same Containerfile into empty storage. Debian's docker-registry on
// loopback; the base image (busybox) comes from it too. Four RUN steps
// write BENCH_RUN_MB MiB of random bytes each (default 16).
// Usage: node bench/regcache/run.mjs [RUNS]   (default 5; root for buildah's storage). Run `npx tsc` first.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startRegistry } from "../../dist/test/helpers/registry.js";
import { makeBusyboxLayout } from "../../dist/test/helpers/images.js";

const RUNS = Number(process.argv[2] ?? 5);
const RUN_MB = Number(process.env.BENCH_RUN_MB ?? 16);
const LADING = fileURLToPath(new URL("../../bin/lading.js", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "lading-bench-regcache-"));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function run(cmd, args, env = {}) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 26, env: { ...process.env, ...env } });
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}${r.stdout}`);
  return { s, stdout: r.stdout, stderr: r.stderr };
}

const reg = await startRegistry();
try {
  const bb = await makeBusyboxLayout(join(work, "bb"));
  run("skopeo", ["copy", "-q", "--dest-tls-verify=false", `oci:${bb.dir}:latest`, `docker://${reg.host}/base:1`]);
  const ctx = join(work, "ctx");
  mkdirSync(ctx);
  const bytes = RUN_MB << 20;
  writeFileSync(
    join(ctx, "Containerfile"),
    `FROM ${reg.host}/base:1
RUN head -c ${bytes} /dev/urandom > /r1
COPY a.txt /files/
RUN head -c ${bytes} /dev/urandom > /r2
ENV STAGE=bench
RUN echo "$STAGE" > /stage
RUN head -c ${bytes} /dev/urandom > /r3
RUN cat /stage > /stage2
COPY b.txt /files/
RUN head -c ${bytes} /dev/urandom > /r4
`,
  );
  writeFileSync(join(ctx, "a.txt"), "a\n");
  writeFileSync(join(ctx, "b.txt"), "b\n");
  const lading = (args) => run(process.execPath, [LADING, ...args]);
  const common = ["--lock", "off", "--progress", "plain"];

  // The runner that exports: builds, pushes the image, pushes the cache.
  const exported = lading(["build", ...common, "--store", join(work, "exporter"), "-t", `${reg.host}/app:1`, "--push", "--cache-to", `type=registry,ref=${reg.host}/app:cache,mode=max`, ctx]);
  const digest = exported.stdout.trim();
  const broot = join(work, "buildah");
  const buildah = (root, more) => ["buildah", ["--root", join(broot, root, "root"), "--runroot", join(broot, root, "run"), "--storage-driver", "vfs", "bud", "--layers", "--runtime", "runc", "--tls-verify=false", ...more, "-f", join(ctx, "Containerfile"), "-t", "bench:latest", ctx]];
  const [bcmd, bargs] = buildah("exporter", ["--cache-to", `${reg.host}/buildah-cache`]);
  run(bcmd, bargs, { TMPDIR: work });

  const rows = { rebuild: [], pull: [], buildah: [] };
  const buildahHits = [];
  for (let i = 0; i < RUNS; i++) {
    const store = join(work, `rebuild-${i}`);
    // -t names the image in the store: every layer is fetched, as a pull stores them.
    const r = lading(["build", ...common, "--store", store, "--cache-from", `type=registry,ref=${reg.host}/app:cache`, "-t", "app:built", ctx]);
    if (r.stdout.trim() !== digest) throw new Error(`the rebuild gave ${r.stdout.trim()}, the exporter ${digest}`);
    if (/^✔ (RUN|COPY)/m.test(r.stderr)) throw new Error(`a step ran in the rebuild:\n${r.stderr}`);
    rows.rebuild.push(r.s);
    rows.pull.push(lading(["pull", "--progress", "quiet", "--store", join(work, `pull-${i}`), `${reg.host}/app:1`]).s);
    const [c, a] = buildah(`run-${i}`, ["--cache-from", `${reg.host}/buildah-cache`]);
    const b = run(c, a, { TMPDIR: work });
    rows.buildah.push(b.s);
    // buildah says which steps it took from --cache-from; report it, so a bench where it silently rebuilt is seen.
    buildahHits.push((`${b.stdout}${b.stderr}`.match(/Using cache/g) ?? []).length);
    for (const d of [store, join(work, `pull-${i}`), join(broot, `run-${i}`)]) rmSync(d, { recursive: true, force: true });
  }
  const [l1, l5, l15] = loadavg();
  console.log(`regcache bench: 10-step Containerfile, 4 RUN × ${RUN_MB} MiB random, busybox base; empty store each run; ${RUNS} runs, medians (s); load average ${l1.toFixed(1)} / ${l5.toFixed(1)} / ${l15.toFixed(1)}`);
  console.log("| case | s | vs lading pull |\n|---|---:|---:|");
  const p = median(rows.pull);
  for (const [name, key] of [["lading build --cache-from (empty store)", "rebuild"], ["lading pull of the final image", "pull"], ["buildah bud --layers --cache-from (empty storage)", "buildah"]]) {
    console.log(`| ${name} | ${median(rows[key]).toFixed(2)} | ${(median(rows[key]) / p).toFixed(2)}× |`);
  }
  console.log(`buildah steps taken from its cache per run: ${buildahHits.join(", ")} (of 9)`);
  console.log(`pairs rebuild/pull: ${rows.rebuild.map((r, i) => (r / rows.pull[i]).toFixed(2)).join(", ")}`);
} finally {
  await reg.stop();
  rmSync(work, { recursive: true, force: true });
}
