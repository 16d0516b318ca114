#!/usr/bin/env node
// Services (issue 14): start to first accepted connection of a busybox
// httpd service — lading's `start()` in a fresh session (the session
// network included) and in a session whose network is up — beside `podman
// run -d` of the same image plus polling its port; and the extra cost of a
// service binding on a `withExec(["true"])`. Medians of RUNS runs, side by
// side in one run; run it as the user you measure (rootless: as an
// ordinary user with subordinate ids, e.g. through .ci/rootless.sh).
//   node bench/services/run.mjs [RUNS]
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { connect as tcp } from "node:net";
import { loadavg } from "node:os";
import { join } from "node:path";
import { connect } from "../../dist/src/index.js";
import { findTool } from "../../dist/src/exec/detect.js";
import { makeBusyboxLayout } from "../../dist/test/helpers/images.js";
import { podmanArgs, podmanUlimits } from "../../dist/test/helpers/tools.js";

const RUNS = Number(process.argv[2] ?? process.env.BENCH_RUNS ?? 5);
// Lower case, short: podman names the image after the layout's path.
const dir = join("/tmp", `lading-bench-services-${process.getuid()}-${process.pid}`);
mkdirSync(dir);
// podman refuses a runroot longer than 50 characters (a rootless TMPDIR is often deeper).
const runroot = `/tmp/lbs-${process.pid}-run`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const accepts = (port) => new Promise((res) => { const s = tcp(port, "127.0.0.1"); s.once("connect", () => (s.destroy(), res(true))); s.once("error", () => res(false)); });

try {
  const image = await makeBusyboxLayout(join(dir, "busybox"), "bb");
  const store = join(dir, "store");
  const httpd = (port) => (c) => c.withExposedPort(port).withExec(["sh", "-c", `exec httpd -f -p ${port} -h /`]).asService();
  // Warm: the snapshot unpacked, once.
  await connect(async (client) => void (await httpd(8000)(client.container().from(image.ref)).start()), { store });

  const cold = [], warm = [], plain = [], bound = [];
  for (let i = 0; i < RUNS; i++) {
    const client = await connect({ store });
    try {
      const bb = client.container().from(image.ref);
      await bb.sync();
      let t0 = process.hrtime.bigint();
      const svc = httpd(8100 + i)(bb);
      await svc.start();
      cold.push(ms(t0));
      t0 = process.hrtime.bigint();
      await httpd(8200 + i)(bb).start();
      warm.push(ms(t0));
      // The binding's cost: the same exec with and without it, the service already running.
      t0 = process.hrtime.bigint();
      await bb.withExec(["true"], { noCache: true }).sync();
      plain.push(ms(t0));
      t0 = process.hrtime.bigint();
      await bb.withServiceBinding("s", svc).withExec(["true"], { noCache: true }).sync();
      bound.push(ms(t0));
    } finally {
      await client.close();
    }
  }

  const rows = [
    ["lading start(), fresh session (network made)", median(cold)],
    ["lading start(), session network up", median(warm)],
  ];
  const podman = findTool("podman");
  let podmanMs;
  if (podman) {
    const g = [...podmanArgs(join(dir, "podman-root"), runroot), ...(process.getuid() === 0 ? [] : ["--cgroup-manager=cgroupfs"])];
    const pull = spawnSync(podman, [...g, "pull", "-q", `oci:${image.dir}:bb`], { encoding: "utf8" });
    if (pull.status !== 0) throw new Error(`podman pull: ${pull.stderr}`);
    const id = pull.stdout.trim();
    // Within the hard limits, nproc at most 32768 (conmon's limit here, as exec/podman.ts clamps it).
    const ulimits = podmanUlimits().map((u) => u.replace(/^nproc=(\d+):(\d+)$/, (_, a, b) => `nproc=${Math.min(+a, 32768)}:${Math.min(+b, 32768)}`));
    const times = [];
    for (let i = 0; i < RUNS; i++) {
      const port = 8300 + i;
      const t0 = process.hrtime.bigint();
      // --network host: podman's cheapest (no network set-up at all); rootless slirp4netns/pasta are not installed here.
      const r = spawnSync(podman, [...g, "run", "-d", "--rm", "--network", "host", ...ulimits, id, "sh", "-c", `exec httpd -f -p 127.0.0.1:${port} -h /`], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`podman run: ${r.stderr}`);
      while (!(await accepts(port))) await new Promise((res) => setTimeout(res, 5));
      times.push(ms(t0));
      spawnSync(podman, [...g, "rm", "-f", "-t", "0", r.stdout.trim()], { stdio: "ignore" });
    }
    podmanMs = median(times);
    rows.push(["podman run -d --network host + first accept", podmanMs]);
    spawnSync(podman, [...g, "system", "reset", "-f"], { stdio: "ignore" });
  }
  rows.push(["withExec(['true']), no binding", median(plain)]);
  rows.push(["withExec(['true']) bound to a running service", median(bound)]);
  console.log(`services, ${process.getuid() === 0 ? "as root" : "rootless"}, medians of ${RUNS}, load average ${loadavg()[0].toFixed(1)}`);
  for (const [name, v] of rows) console.log(`  ${name.padEnd(50)} ${v.toFixed(0).padStart(6)} ms`);
  if (podmanMs) console.log(`  lading (network up) / podman: ${(median(warm) / podmanMs).toFixed(2)}×, fresh session / podman: ${(median(cold) / podmanMs).toFixed(2)}×`);
  console.log(`  a binding adds ${(median(bound) - median(plain)).toFixed(0)} ms to an exec`);
} finally {
  // Rootless, the store holds files of subordinate ids: removed from inside a user namespace.
  if (process.getuid() !== 0) spawnSync("unshare", ["--user", "--map-root-user", "--map-auto", "rm", "-rf", dir], { stdio: "ignore" });
  else spawnSync("rm", ["-rf", dir], { stdio: "ignore" });
  rmSync(runroot, { recursive: true, force: true }); // podman's storage too, mounts gone after its reset
  rmSync(dir, { recursive: true, force: true });
}
