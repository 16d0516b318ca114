#!/usr/bin/env node
// Registry push and pull, lading beside `skopeo copy`, against Debian's
// docker-registry on loopback. The image: a base layer (busybox, ~1 MB) and a
// payload layer of BENCH_PAYLOAD_MB MiB of random bytes (default 256). Cold
// = the destination has none of the blobs (each tool gets a new registry per
// run: skopeo's blob-info cache would otherwise mount from the other tool's
// repository); warm = it has all of them.
// Medians of BENCH_RUNS runs (default 5), in ms. Run `npx tsc` first.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startRegistry } from "../../dist/test/helpers/registry.js";
import { makePayloadLayout } from "../payload-layout.mjs";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const PAYLOAD_MB = Number(process.env.BENCH_PAYLOAD_MB ?? 256);
const op = fileURLToPath(new URL("./lading-op.mjs", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "lading-bench-reg-"));

function timed(cmd, args) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 24 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}${r.stdout}`);
  const rss = /"maxRssMB":(\d+)/.exec(r.stdout)?.[1];
  return { ms, rss: rss ? Number(rss) : undefined };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  // The source: busybox base + random payload, as one image in an OCI-layout store.
  const src = await makePayloadLayout(join(work, "src"), work, PAYLOAD_MB);

  const rows = { "push cold": { lading: [], skopeo: [] }, "push warm": { lading: [], skopeo: [] }, "pull cold": { lading: [], skopeo: [] }, "pull warm": { lading: [], skopeo: [] } };
  let rss = 0;
  const rec = (row, tool, r) => {
    rows[row][tool].push(r.ms);
    if (tool === "lading" && r.rss) rss = Math.max(rss, r.rss);
  };
  for (let i = 0; i < RUNS; i++) {
    const regL = await startRegistry();
    const regS = await startRegistry();
    const lref = `${regL.host}/bench/app:1`;
    const sref = `${regS.host}/bench/app:1`;
    // cold push: a new repository, and no remembered origins (they would turn the upload into a mount)
    rmSync(join(src, "lading", "registry"), { recursive: true, force: true });
    rec("push cold", "lading", timed(process.execPath, [op, "push", src, "bench", lref]));
    rec("push cold", "skopeo", timed("skopeo", ["copy", "-q", "--dest-tls-verify=false", `oci:${src}:bench`, `docker://${sref}`]));
    rec("push warm", "lading", timed(process.execPath, [op, "push", src, "bench", lref]));
    rec("push warm", "skopeo", timed("skopeo", ["copy", "-q", "--dest-tls-verify=false", `oci:${src}:bench`, `docker://${sref}`]));
    const lstore = join(work, `pull-l-${i}`);
    const sdir = join(work, `pull-s-${i}`);
    rec("pull cold", "lading", timed(process.execPath, [op, "pull", lref, lstore]));
    rec("pull cold", "skopeo", timed("skopeo", ["copy", "-q", "--src-tls-verify=false", `docker://${sref}`, `oci:${sdir}:1`]));
    rec("pull warm", "lading", timed(process.execPath, [op, "pull", lref, lstore]));
    rec("pull warm", "skopeo", timed("skopeo", ["copy", "-q", "--src-tls-verify=false", `docker://${sref}`, `oci:${sdir}:1`]));
    await regL.stop();
    await regS.stop();
    rmSync(lstore, { recursive: true, force: true });
    rmSync(sdir, { recursive: true, force: true });
  }
  console.log(`registry bench: busybox base + ${PAYLOAD_MB} MiB random payload, ${RUNS} runs, medians (ms)`);
  console.log("| operation | lading | skopeo copy | ratio |\n|---|---:|---:|---:|");
  for (const [name, r] of Object.entries(rows)) {
    const l = median(r.lading);
    const s = median(r.skopeo);
    console.log(`| ${name} | ${l.toFixed(0)} | ${s.toFixed(0)} | ${(l / s).toFixed(2)}× |`);
  }
  console.log(`lading peak RSS (max over runs): ${rss} MB`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
