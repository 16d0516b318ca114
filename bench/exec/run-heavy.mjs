#!/usr/bin/env node
// A RUN-heavy Containerfile (20 RUN steps on the local busybox image: small
// writes, deletes, a chmod, a loop of files, a bit of shell arithmetic) built
// by `lading build --no-cache` and by `buildah bud --layers --no-cache` (vfs),
// each in its own store, RUNS times (default 3); prints medians of
// whole-process wall time. Needs root (buildah's vfs storage).
//   node bench/exec/run-heavy.mjs [RUNS]
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeBusyboxLayout } from "../../dist/test/helpers/images.js";

const RUNS = Number(process.argv[2] ?? 3);
const root = new URL("../..", import.meta.url).pathname;
// Lower case only: buildah and skopeo refuse upper-case repository names.
const work = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), "lading-bench-runheavy-"));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function steps() {
  const out = [];
  for (let i = 0; i < 20; i++) {
    if (i % 5 === 0) out.push(`RUN mkdir -p /work/d${i} && for n in $(seq 1 50); do echo "$n" > /work/d${i}/f$n; done`);
    else if (i % 5 === 1) out.push(`RUN rm -f /work/d${i - 1}/f1 /work/d${i - 1}/f2 && chmod 0700 /work/d${i - 1}`);
    else if (i % 5 === 2) out.push(`RUN i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo $i > /work/count${i}`);
    else if (i % 5 === 3) out.push(`RUN echo step ${i} >> /etc/motd`);
    else out.push(`RUN true`);
  }
  return out.join("\n");
}

function time(cmd, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

try {
  const base = await makeBusyboxLayout(join(work, "base"), "latest");
  const broot = join(work, "buildah");
  mkdirSync(broot);
  const bstore = ["--root", join(broot, "root"), "--runroot", join(broot, "run"), "--storage-driver", "vfs"];
  execFileSync("skopeo", ["copy", "-q", base.ref, `containers-storage:[vfs@${join(broot, "root")}+${join(broot, "run")}]localhost/bench-base:latest`]);

  const lctx = join(work, "lading-ctx");
  const bctx = join(work, "buildah-ctx");
  mkdirSync(lctx);
  mkdirSync(bctx);
  writeFileSync(join(lctx, "Containerfile"), `FROM ${base.ref}\n${steps()}\n`);
  writeFileSync(join(bctx, "Containerfile"), `FROM localhost/bench-base:latest\n${steps()}\n`);

  const lading = [];
  const buildah = [];
  for (let i = 0; i < RUNS; i++) {
    lading.push(time(process.execPath, [join(root, "bin/lading.js"), "build", "--no-cache", "--lock", "off", "--progress", "quiet", "--store", join(work, "lading-store"), lctx]));
    buildah.push(time("buildah", [...bstore, "bud", "--layers", "--no-cache", "-q", "--isolation", "oci", "--runtime", "runc", "-t", `bench-${i}:latest`, bctx]));
  }
  const l = median(lading);
  const b = median(buildah);
  console.log(`RUN-heavy Containerfile (20 RUN steps), median of ${RUNS} (s):`);
  console.log(`  lading build --no-cache           ${l.toFixed(2)}   (${lading.map((x) => x.toFixed(2)).join(", ")})`);
  console.log(`  buildah bud --layers --no-cache   ${b.toFixed(2)}   (${buildah.map((x) => x.toFixed(2)).join(", ")})`);
  console.log(`  lading / buildah: ${(l / b).toFixed(2)}x`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
