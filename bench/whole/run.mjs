#!/usr/bin/env node
// Whole commands the way a user runs them (issue 17), each beside its anchor
// in the same run, interleaved pair by pair so both see the same load:
//   startup   `lading --version` / `node -e 0` (the floor)
//   push      `lading push oci:LAYOUT:tag REG/x:1` with a fresh store, against
//             `skopeo copy oci:LAYOUT:tag docker://REG/x:1` (a new registry per
//             tool and run); then the same push again (all blobs there), as a
//             command and in-process (a connected client, from() + publish())
//   build     no-op `lading build` of FROM + RUN + COPY (tiny context) against
//             `buildah bud --layers` (vfs), both already built once
//   exec      in-process withExec(["true", i]) per exec (a new step each), as
//             root, against `runc run` of the same busybox rootfs
//   dir       a script's connect() → withDirectory("/p", the payload: 197 MB,
//             20k files) → digest() into a fresh store (bench/bigctx/
//             lading-copy.mjs), against `umoci insert` of the same directory
//   rss       peak RSS of `lading build -o img.tar` of FROM scratch + COPY of
//             the payload, fresh store (goal ≤ 150 MB; no anchor)
// Usage: node bench/whole/run.mjs [RUNS=5] [SECTION...]   (root; `npm run build`
// first: after a bare `npx tsc` the command runs unbundled, which the header says)
// BENCH_PAYLOAD_MB sets the push image's random layer (default 133: a 134 MB image). The last column is the
// median of the ratios of interleaved pairs (each lading run over the anchor run beside it).
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, statSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startRegistry } from "../../dist/test/helpers/registry.js";
import { makeBusyboxLayout } from "../../dist/test/helpers/images.js";
import { makePayloadLayout } from "../payload-layout.mjs";
import { contextDir } from "../bigctx/gen-context.mjs";

const args = process.argv.slice(2);
const RUNS = /^\d+$/.test(args[0] ?? "") ? Number(args.shift()) : 5;
const SECTIONS = args.length ? args : ["startup", "push", "build", "exec", "dir", "rss"];
const PAYLOAD_MB = Number(process.env.BENCH_PAYLOAD_MB ?? 133);
// BENCH_LADING_ROOT: another checkout's bin/ and dist/ (a before/after run on the same machine at once).
const ladingRoot = process.env.BENCH_LADING_ROOT ?? fileURLToPath(new URL("../..", import.meta.url));
// Run as the installed `lading` runs: the file itself (its sh launcher, then node), not `node bin/lading.js`.
const lading = join(ladingRoot, "bin", "lading.js");
const { connect } = await import(join(ladingRoot, "dist", "src", "index.js"));
// Lower case only: buildah names an image pulled from a layout after the layout's path.
const work = join(process.env.BENCH_TMP ?? tmpdir(), `lading-bench-whole-${process.pid}`);
mkdirSync(work);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const rows = [];

/**
 * Wall ms, CPU ms (user+sys of the process and its children, from GNU time: steadier than wall on a shared
 * machine) and peak RSS MB (of the largest process).
 */
function run(cmd, argv, opts = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-f", "@@cpu %U %S %M", cmd, ...argv], { encoding: "utf8", maxBuffer: 1 << 24, ...opts, stdio: ["ignore", opts.stdio === "ignore" ? "ignore" : "pipe", "pipe"] });
  const t = ms(t0);
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(" ")}: exit ${r.status}\n${r.stderr}${r.stdout}`);
  const m = /@@cpu ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(r.stderr);
  return { ms: t, cpu: m ? (Number(m[1]) + Number(m[2])) * 1000 : undefined, rssMb: m ? Number(m[3]) / 1024 : undefined };
}
async function timed(fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return { ms: ms(t0) };
}
function row(name, ours, anchorName, anchor) {
  const cpu = (xs) => (xs.every((x) => x.cpu !== undefined) ? median(xs.map((x) => x.cpu)) : undefined);
  // Each run of ours beside the anchor's run next to it (same index: they ran one after the other), so a
  // burst of load on a shared machine weighs on both sides of a pair rather than on one median.
  const paired = median(ours.map((x, i) => x.ms / anchor[i % anchor.length].ms));
  rows.push({ name, ours: median(ours.map((x) => x.ms)), oursCpu: cpu(ours), anchorName, anchor: median(anchor.map((x) => x.ms)), anchorCpu: cpu(anchor), paired });
}

async function startup() {
  const floor = [];
  const version = [];
  const help = [];
  for (let i = 0; i < RUNS * 2; i++) {
    floor.push(run(process.execPath, ["-e", "0"]));
    version.push(run(lading, ["--version"]));
    help.push(run(lading, ["push", "--help"]));
  }
  row("`lading --version`", version, "`node -e 0`", floor);
  row("`lading push --help`", help, "`node -e 0`", floor);
}

async function pushImageLayout() {
  // A plain layout, as skopeo or umoci leave it: no lading/ folder beside the blobs.
  return makePayloadLayout(join(work, "layout"), work, PAYLOAD_MB, { plain: true });
}

async function push() {
  const layout = await pushImageLayout();
  const src = `oci:${layout}:bench`;
  const cold = { lading: [], skopeo: [] };
  const warm = { lading: [], skopeo: [] };
  const inproc = [];
  for (let i = 0; i < RUNS; i++) {
    const regL = await startRegistry();
    const regS = await startRegistry();
    const storeDir = join(work, `push-store-${i}`);
    const lref = `${regL.host}/bench/x:1`;
    const sref = `${regS.host}/bench/x:1`;
    const ladingPush = ["push", "--progress", "quiet", "--store", storeDir, "--insecure-registry", regL.host, src, lref];
    const skopeo = ["copy", "-q", "--dest-tls-verify=false", src, `docker://${sref}`];
    try {
      cold.lading.push(run(lading, ladingPush));
      cold.skopeo.push(run("skopeo", skopeo));
      warm.lading.push(run(lading, ladingPush));
      warm.skopeo.push(run("skopeo", skopeo));
      const client = await connect({ store: storeDir, insecureRegistries: [regL.host] });
      try {
        await client.container().from(src).publish(lref); // a first call loads the code it needs
        inproc.push(await timed(() => client.container().from(src).publish(lref)));
      } finally {
        await client.close();
      }
    } finally {
      await regL.stop();
      await regS.stop();
      rmSync(storeDir, { recursive: true, force: true });
    }
  }
  row(`\`lading push oci:…\` ${PAYLOAD_MB + 1} MB, fresh store`, cold.lading, "`skopeo copy oci:… docker://…`", cold.skopeo);
  row("the same push again (all in the registry)", warm.lading, "skopeo, the same", warm.skopeo);
  row("… in-process: from(oci:…).publish() on a connected client", inproc, "skopeo, the same", warm.skopeo);
}

async function build() {
  const bb = await makeBusyboxLayout(join(work, "build-bb"));
  const ctx = join(work, "build-ctx");
  mkdirSync(ctx);
  writeFileSync(join(ctx, "hello.txt"), "hello\n");
  writeFileSync(join(ctx, "Containerfile"), "FROM bb\nRUN echo built > /built.txt\nCOPY hello.txt /hello.txt\n");
  const lstore = join(work, "build-store");
  await makeBusyboxLayout(lstore, "bb");
  const broot = join(work, "buildah");
  const bargs = ["--root", join(broot, "root"), "--runroot", join(broot, "run"), "--storage-driver", "vfs"];
  run("buildah", [...bargs, "pull", "-q", bb.ref]);
  const id = execFileSync("buildah", [...bargs, "images", "-q"], { encoding: "utf8" }).trim().split("\n")[0];
  run("buildah", [...bargs, "tag", id, "localhost/bb:latest"]);
  const ladingBuild = ["build", "--progress", "quiet", "--store", lstore, "-t", "out:1", ctx];
  // runc: crun refuses some hosts' hybrid cgroups (as bench/compat).
  const buildah = [...bargs, "bud", "--runtime", "runc", "--layers", "-q", "-t", "out:1", ctx];
  run(lading, ladingBuild);
  run("buildah", buildah);
  const l = [];
  const b = [];
  for (let i = 0; i < RUNS; i++) {
    l.push(run(lading, ladingBuild));
    b.push(run("buildah", buildah));
  }
  row("no-op `lading build` FROM + RUN + COPY", l, "`buildah bud --layers`", b);
}

async function exec() {
  const storeDir = join(work, "exec-store");
  await makeBusyboxLayout(storeDir, "bb");
  const client = await connect({ store: storeDir });
  const l = [];
  try {
    const base = client.container().from("bb");
    await base.withExec(["true", "warm"]).sync(); // unpacks the snapshot once
    for (let i = 0; i < RUNS * 3; i++) l.push(await timed(() => base.withExec(["true", `${i}`]).sync()));
  } finally {
    await client.close();
  }
  // runc alone: `runc spec` defaults on a copy of the same unpacked rootfs.
  const bundle = join(work, "bundle");
  const snapshots = join(storeDir, "lading", "snapshots");
  const findRootfs = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory() || e.name.startsWith(".")) continue;
      const p = join(dir, e.name);
      if (readdirSync(p).includes("bin")) return p;
      const deeper = findRootfs(p);
      if (deeper) return deeper;
    }
    return undefined;
  };
  cpSync(findRootfs(snapshots), join(bundle, "rootfs"), { recursive: true, verbatimSymlinks: true });
  execFileSync("runc", ["spec"], { cwd: bundle });
  const spec = JSON.parse(execFileSync("cat", [join(bundle, "config.json")], { encoding: "utf8" }));
  spec.process.terminal = false;
  spec.process.args = ["true"];
  writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
  const r = [];
  for (let i = 0; i < RUNS * 3; i++) r.push(run("runc", ["--root", join(work, "runc-state"), "run", "--bundle", bundle, `bench-${process.pid}-${i}`], { stdio: "ignore" }));
  row("in-process `withExec([\"true\"])` per exec, root", l, "`runc run`", r);
}

async function dir() {
  const payload = contextDir("payload");
  const l = [];
  const u = [];
  for (let i = 0; i < RUNS; i++) {
    const store = join(work, `dir-store-${i}`);
    l.push(run(process.execPath, [join(ladingRoot, "bench", "bigctx", "lading-copy.mjs"), payload, store], { stdio: "ignore" }));
    rmSync(store, { recursive: true, force: true });
    // The empty image is made untimed: umoci insert alone is the anchor (as bench/bigctx).
    const layout = join(work, `dir-umoci-${i}`);
    execFileSync("umoci", ["init", "--layout", layout]);
    execFileSync("umoci", ["new", "--image", `${layout}:t`]);
    u.push(run("umoci", ["insert", "--image", `${layout}:t`, payload, "/p"], { stdio: "ignore" }));
    rmSync(layout, { recursive: true, force: true });
  }
  row("script: connect → withDirectory(payload, 197 MB / 20k files) → digest, fresh store", l, "`umoci insert`", u);
}

async function rss() {
  const ctx = join(work, "rss-ctx");
  mkdirSync(ctx);
  cpSync(contextDir("payload"), join(ctx, "payload"), { recursive: true });
  writeFileSync(join(ctx, "Containerfile"), "FROM scratch\nCOPY payload /payload\n");
  const peaks = [];
  for (let i = 0; i < RUNS; i++) {
    const store = join(work, `rss-store-${i}`);
    const img = join(work, `rss-${i}.tar`);
    peaks.push(run(lading, ["build", "--progress", "quiet", "--store", store, "-o", img, ctx], { stdio: "ignore" }).rssMb);
    rmSync(store, { recursive: true, force: true });
    rmSync(img, { force: true });
  }
  notes.push(`peak RSS of \`lading build -o img.tar\` of FROM scratch + COPY of the payload, fresh store: median ${median(peaks).toFixed(0)} MB (${peaks.map((p) => p.toFixed(0)).join(", ")}; goal ≤ 150 MB)`);
}

const notes = [];
const all = { startup, push, build, exec, dir, rss };
try {
  const load0 = loadavg();
  for (const s of SECTIONS) {
    if (!all[s]) throw new Error(`unknown section ${s}; sections: ${Object.keys(all).join(", ")}`);
    await all[s]();
  }
  const floorRuns = Array.from({ length: RUNS }, () => run(process.execPath, ["-e", "0"]));
  const floor = median(floorRuns.map((x) => x.ms));
  const floorCpu = median(floorRuns.map((x) => x.cpu));
  const load1 = loadavg();
  // Node reads and parses the whole file NODE_EXTRA_CA_CERTS names before any script runs (Node 20): with the
  // system bundle (~140 certificates) that is ~30 ms of every node process. The floor pays it; lading's launcher
  // moves the variable aside for node's start (bin/lading.js), so a command can start below that floor.
  if (process.env.NODE_EXTRA_CA_CERTS) {
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const bare = Array.from({ length: RUNS }, () => run(process.execPath, ["-e", "0"], { env }));
    console.log(`NODE_EXTRA_CA_CERTS is set (${process.env.NODE_EXTRA_CA_CERTS}): every node process here parses it at start; \`node -e 0\` without it: ${median(bare.map((x) => x.ms)).toFixed(0)} / ${median(bare.map((x) => x.cpu)).toFixed(0)} ms`);
  }
  console.log(`whole-command bench, medians of ${RUNS} (exec, startup: more), ms wall / ms CPU; \`node -e 0\` (the floor): ${floor.toFixed(0)} / ${floorCpu.toFixed(0)} ms; ${process.version}`);
  const bundle = join(ladingRoot, "dist", "lading-cli.cjs");
  const bundled = existsSync(bundle) && statSync(bundle).mtimeMs >= statSync(join(ladingRoot, "dist", "src", "cli", "main.js")).mtimeMs;
  console.log(`lading at ${ladingRoot}: ${bundled ? "the bundled command (dist/lading-cli.cjs)" : "dist/src, unbundled"}`);
  console.log(`load average before ${load0.map((x) => x.toFixed(2)).join(" ")}, after ${load1.map((x) => x.toFixed(2)).join(" ")}`);
  const cell = (w, c) => `${w.toFixed(0)} / ${c === undefined ? "–" : c.toFixed(0)}`;
  console.log("| path | lading wall / CPU | anchor | anchor wall / CPU | ratio wall (CPU) | paired wall ratio |\n|---|---:|---|---:|---:|---:|");
  for (const r of rows) {
    const cpuRatio = r.oursCpu !== undefined && r.anchorCpu ? ` (${(r.oursCpu / r.anchorCpu).toFixed(2)}×)` : "";
    console.log(`| ${r.name} | ${cell(r.ours, r.oursCpu)} | ${r.anchorName} | ${cell(r.anchor, r.anchorCpu)} | ${(r.ours / r.anchor).toFixed(2)}×${cpuRatio} | ${r.paired.toFixed(2)}× |`);
  }
  for (const n of notes) console.log(n);
} finally {
  rmSync(work, { recursive: true, force: true });
}
