#!/usr/bin/env node
// Exec overhead: runExec(["true"]) with the snapshot warm, beside a raw
// `runc run` of an equivalent bundle, `podman run --rootfs` and `buildah run`
// on the same busybox image. Prints the median wall time of RUNS runs each.
//   node bench/exec/run.mjs [RUNS]
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Store } from "../../dist/src/store/store.js";
import { runExec } from "../../dist/src/exec/run.js";
import { findTool } from "../../dist/src/exec/detect.js";
import { makeBusyboxLayout } from "../../dist/test/helpers/images.js";
import { podmanArgs } from "../../dist/test/helpers/tools.js";
import { containerRlimits } from "../../dist/src/exec/limits.js";
import { EXEC_HELPER } from "../../dist/src/engine/exec-helper-path.js";
import { readEnvConfig } from "../../dist/src/env-config.js";

const RUNS = Number(process.argv[2] ?? 15);
// Lower case only: buildah names the image after the layout's path.
const dir = join("/tmp", `lading-bench-exec-${process.getuid()}-${process.pid}`);
mkdirSync(dir);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

function timeCmd(cmd, args, opts = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"], ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
  return ms(t0);
}

try {
  await makeBusyboxLayout(join(dir, "store"), "bb");
  const store = await Store.open(join(dir, "store"));
  const desc = await store.resolveName("bb");
  const manifest = await store.readJson(desc.digest);
  const config = await store.readJson(manifest.config.digest);
  const layers = manifest.layers.map((d, i) => ({ descriptor: d, diffId: config.rootfs.diff_ids[i] }));
  const req = { store, helper: EXEC_HELPER, settings: readEnvConfig(), layers, args: ["true"], env: config.config.Env, cwd: "/", user: "", mounts: [], network: "host" };
  await runExec(req); // warms the snapshot
  const rows = [];
  const lading = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    await runExec(req);
    lading.push(ms(t0));
  }
  rows.push(["lading runExec(['true']), back to back", median(lading)]);
  // A build does other work between execs; with 300 ms between them the spare helper is ready.
  const spaced = [];
  for (let i = 0; i < RUNS; i++) {
    await new Promise((r) => setTimeout(r, 300));
    const t0 = process.hrtime.bigint();
    await runExec(req);
    spaced.push(ms(t0));
  }
  rows.push(["lading runExec(['true']), 300 ms apart", median(spaced)]);

  // Raw runc: `runc spec` defaults, rootfs = a copy of the same unpacked snapshot.
  const bundle = join(dir, "bundle");
  const snapshots = join(store.root, "lading", "snapshots");
  const tag = execFileSync("ls", [snapshots], { encoding: "utf8" }).trim().split("\n")[0];
  const snap = join(snapshots, tag, execFileSync("ls", [join(snapshots, tag)], { encoding: "utf8" }).trim().split("\n").find((n) => !n.startsWith(".")));
  cpSync(snap, join(bundle, "rootfs"), { recursive: true, verbatimSymlinks: true });
  const rootless = process.getuid() !== 0;
  execFileSync(findTool("runc"), ["spec", ...(rootless ? ["--rootless"] : [])], { cwd: bundle });
  const spec = JSON.parse(execFileSync("cat", [join(bundle, "config.json")], { encoding: "utf8" }));
  spec.process.terminal = false;
  spec.process.args = ["true"];
  spec.process.rlimits = [];
  writeFileSync(join(bundle, "config.json"), JSON.stringify(spec));
  const runcRoot = join(dir, "runc-state");
  const raw = [];
  for (let i = 0; i < RUNS; i++) raw.push(timeCmd(findTool("runc"), ["--root", runcRoot, "run", "--bundle", bundle, `bench-${i}`]));
  rows.push(["runc run (same rootfs, no overlay, no diff)", median(raw)]);
  // Idle time between runs makes any fork+exec slower on this VM (cold caches, idle vCPUs), runc
  // alone included: the spaced lading runs are compared with runc spaced the same way.
  const rawSpaced = [];
  for (let i = 0; i < RUNS; i++) {
    await new Promise((r) => setTimeout(r, 300));
    rawSpaced.push(timeCmd(findTool("runc"), ["--root", runcRoot, "run", "--bundle", bundle, `bench-s${i}`]));
  }
  rows.push(["runc run, 300 ms apart", median(rawSpaced)]);

  if (findTool("podman")) try {
    // podman 4.3 ignores --ulimit with --rootfs; a containers.conf sets them (nproc within conmon's 32768).
    const lims = containerRlimits().map((l) => (l.type === "RLIMIT_NPROC" ? { ...l, soft: Math.min(l.soft, 32768), hard: Math.min(l.hard, 32768) } : l));
    const pa = [...podmanArgs(join(dir, "podman"), join("/tmp", `lbp-${process.pid}`)), "run", "--rm", "--network", "host", "--rootfs", join(bundle, "rootfs"), "true"];
    const conf = join(dir, "containers.conf");
    writeFileSync(conf, `[containers]\ndefault_ulimits = [${lims.map((l) => JSON.stringify(`${l.type.slice(7).toLowerCase()}=${l.soft}:${l.hard}`)).join(", ")}]\n`);
    const env = { ...process.env, CONTAINERS_CONF: conf };
    timeCmd("podman", pa, { env });
    const p = [];
    for (let i = 0; i < RUNS; i++) p.push(timeCmd("podman", pa, { env }));
    rows.push(["podman run --rm --rootfs", median(p)]);
  } catch (err) {
    rows.push([`podman run: failed (${String(err.message).trim().split("\n").pop()})`, NaN]);
  }
  if (findTool("buildah")) try {
    const ba = ["--root", join(dir, "buildah"), "--runroot", join("/tmp", `lbb-${process.pid}`), "--storage-driver", "vfs"];
    const ctr = execFileSync("buildah", [...ba, "from", "--pull-never", `oci:${join(dir, "store")}:bb`], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim().split("\n").pop();
    const b = [];
    for (let i = 0; i < RUNS; i++) b.push(timeCmd("buildah", [...ba, "run", "--network", "host", "--runtime", findTool("runc"), ctr, "true"]));
    rows.push(["buildah run", median(b)]);
    spawnSync("buildah", [...ba, "rm", ctr]);
  } catch (err) {
    rows.push([`buildah run: failed (${String(err.stderr ?? err.message).trim().split("\n").pop()})`, NaN]);
  }
  spawnSync("sh", ["-c", `rm -rf /tmp/lbb-${process.pid} /tmp/lbp-${process.pid}`]);
  console.log(`exec overhead, median of ${RUNS} runs (ms), ${rootless ? "rootless" : "as root"}:`);
  for (const [name, v] of rows) console.log(`  ${name.padEnd(50)} ${v.toFixed(1)}`);
  console.log(`  lading / raw runc: ${(median(lading) / median(raw)).toFixed(2)}x back to back, ${(median(spaced) / median(rawSpaced)).toFixed(2)}x 300 ms apart (each against runc run the same way)`);
} finally {
  spawnSync("sh", ["-c", `chmod -R u+rwX "${dir}" 2>/dev/null; rm -rf "${dir}"`]);
  // Rootless podman leaves a "pause" process holding its user namespace; it is this run's to stop.
  if (process.getuid() !== 0 && process.env.XDG_RUNTIME_DIR) {
    try {
      const pid = Number(readFileSync(join(process.env.XDG_RUNTIME_DIR, "libpod", "tmp", "pause.pid"), "utf8").trim());
      if (pid > 1) process.kill(pid, "SIGKILL");
    } catch {
      // no podman run, or no pause process
    }
  }
}
