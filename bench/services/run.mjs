#!/usr/bin/env node
// Services (issue 14): start to first accepted connection of a busybox
// httpd service — lading's `start()` in a fresh session (the session
// network included) and in a session whose network is up — beside `podman
// run -d` of the same image plus polling its port, with podman's cheapest
// network (`--network host`) and with a network of its own (rootless: its
// default, slirp4netns with a published port; as root: a CNI bridge, as its
// default network is, with the bench's own config and state); and the extra
// cost of a service binding on a `withExec(["true"])`. Every case once per
// round, RUNS rounds, interleaved (the order turns each round); medians, and
// the median of each round's ratio. Run it as the user you measure
// (rootless: as an ordinary user with subordinate ids, e.g. through
// .ci/rootless.sh).
//   node bench/services/run.mjs [RUNS]
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { connect as tcp } from "node:net";
import { loadavg } from "node:os";
import { join } from "node:path";
import { connect } from "../../dist/src/index.js";
import { findTool } from "../../dist/src/exec/detect.js";
import { makeBusyboxLayout } from "../../dist/test/helpers/images.js";
import { podmanArgs, podmanUlimits } from "../../dist/test/helpers/tools.js";

const RUNS = Number(process.argv[2] ?? process.env.BENCH_RUNS ?? 5);
const root = process.getuid() === 0;
// Lower case, short: podman names the image after the layout's path.
const dir = join("/tmp", `lading-bench-services-${process.getuid()}-${process.pid}`);
mkdirSync(dir);
// podman refuses a runroot longer than 50 characters (a rootless TMPDIR is often deeper).
const runroot = `/tmp/lbs-${process.pid}-run`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const accepts = (host, port) =>
  new Promise((res) => {
    const s = tcp(port, host);
    s.once("connect", () => (s.destroy(), res(true)));
    s.once("error", () => res(false));
  });
// A port forwarded by a proxy (podman's rootlessport) accepts before the server behind it does: only an answer counts.
const answers = (host, port) =>
  new Promise((res) => {
    const s = tcp(port, host);
    let got = false;
    s.once("connect", () => s.write("GET / HTTP/1.0\r\n\r\n"));
    s.once("data", () => ((got = true), s.destroy(), res(true)));
    s.once("error", () => res(false));
    s.once("close", () => res(got));
  });
const until = async (probe) => {
  while (!(await probe())) await new Promise((res) => setTimeout(res, 5));
};

let g, cniNet;
try {
  const image = await makeBusyboxLayout(join(dir, "busybox"), "bb");
  const store = join(dir, "store");
  const httpd = (port) => (c) => c.withExposedPort(port).withExec(["sh", "-c", `exec httpd -f -p ${port} -h /`]).asService();
  // Warm: the snapshot unpacked, once.
  await connect(async (client) => void (await httpd(8000)(client.container().from(image.ref)).start()), { store });

  const cases = [];
  const lading = { cold: [], warm: [], plain: [], bound: [] };
  cases.push(async (i) => {
    const client = await connect({ store });
    try {
      const bb = client.container().from(image.ref);
      await bb.sync();
      let t0 = process.hrtime.bigint();
      const svc = httpd(8100 + i)(bb);
      await svc.start();
      lading.cold.push(ms(t0));
      t0 = process.hrtime.bigint();
      await httpd(8200 + i)(bb).start();
      lading.warm.push(ms(t0));
      // The binding's cost: the same exec with and without it, the service already running, in turns.
      for (const kind of i % 2 ? ["plain", "bound"] : ["bound", "plain"]) {
        t0 = process.hrtime.bigint();
        await (kind === "bound" ? bb.withServiceBinding("s", svc) : bb).withExec(["true"], { noCache: true }).sync();
        lading[kind].push(ms(t0));
      }
    } finally {
      await client.close();
    }
  });

  const podman = findTool("podman");
  const variants = [];
  let id, ulimits;
  if (podman) {
    g = [...podmanArgs(join(dir, "podman-root"), runroot), "--network-config-dir", join(dir, "podman-net")];
    mkdirSync(join(dir, "podman-net"));
    const pull = spawnSync(podman, [...g, "pull", "-q", `oci:${image.dir}:bb`], { encoding: "utf8" });
    if (pull.status !== 0) throw new Error(`podman pull: ${pull.stderr}`);
    id = pull.stdout.trim();
    // Within the hard limits, nproc at most 32768 (conmon's limit here, as exec/podman.ts clamps it).
    ulimits = podmanUlimits().map((u) => u.replace(/^nproc=(\d+):(\d+)$/, (_, a, b) => `nproc=${Math.min(+a, 32768)}:${Math.min(+b, 32768)}`));
    // podman's cheapest: no network set-up at all.
    variants.push({ name: "podman run -d --network host + first accept", times: [], run: (port) => ({ args: ["--network", "host"], cmd: `exec httpd -f -p 127.0.0.1:${port} -h /`, ready: () => accepts("127.0.0.1", port) }) });
    if (!root && findTool("slirp4netns")) {
      // Its rootless default (podman 4.3): slirp4netns, the port published through rootlessport.
      variants.push({ name: "podman run -d -p (slirp4netns) + first answer", times: [], run: (port) => ({ args: ["--network", "slirp4netns", "-p", `127.0.0.1:${port}:${port}`], cmd: `exec httpd -f -p ${port} -h /`, ready: () => answers("127.0.0.1", port) }) });
    }
    if (root && findTool("iptables")) {
      // Its root default: a CNI bridge (podman's own conflist, plugins and all), here with the bench's
      // own bridge, subnet and IPAM state, reached at the container's address from the host.
      const net = (cniNet = { name: `lbs${process.pid % 100000}`, octet: 100 + (process.pid % 150) });
      const conflist = {
        cniVersion: "0.4.0",
        name: net.name,
        plugins: [
          { type: "bridge", bridge: net.name, isGateway: true, ipMasq: false, hairpinMode: true, ipam: { type: "host-local", dataDir: join(dir, "cni-ipam"), ranges: [[{ subnet: `10.89.${net.octet}.0/24`, gateway: `10.89.${net.octet}.1` }]] } },
          { type: "portmap", capabilities: { portMappings: true } },
          { type: "firewall" },
          { type: "tuning" },
        ],
      };
      writeFileSync(join(dir, "podman-net", `${net.name}.conflist`), JSON.stringify(conflist));
      variants.push({ name: "podman run -d (CNI bridge) + first accept", times: [], run: (port, i) => ({ args: ["--network", net.name, "--ip", `10.89.${net.octet}.${10 + i}`], cmd: `exec httpd -f -p ${port} -h /`, ready: () => accepts(`10.89.${net.octet}.${10 + i}`, port) }) });
    }
    for (const [k, v] of variants.entries()) {
      cases.push(async (i) => {
        const port = 8300 + 20 * k + i;
        const how = v.run(port, i);
        const t0 = process.hrtime.bigint();
        const r = spawnSync(podman, [...g, "run", "-d", "--rm", ...how.args, ...ulimits, id, "sh", "-c", how.cmd], { encoding: "utf8" });
        if (r.status !== 0) throw new Error(`podman run (${v.name}): ${r.stderr}`);
        await until(how.ready);
        v.times.push(ms(t0));
        spawnSync(podman, [...g, "rm", "-f", "-t", "0", r.stdout.trim()], { stdio: "ignore" });
      });
    }
  }

  const loads = [];
  for (let i = 0; i < RUNS; i++) {
    loads.push(loadavg()[0]);
    const order = cases.map((_, k) => (k + i) % cases.length);
    for (const k of order) await cases[k](i);
  }

  const rows = [
    ["lading start(), fresh session (network made)", median(lading.cold)],
    ["lading start(), session network up", median(lading.warm)],
    ...variants.map((v) => [v.name, median(v.times)]),
    ["withExec(['true']), no binding", median(lading.plain)],
    ["withExec(['true']) bound to a running service", median(lading.bound)],
  ];
  console.log(`services, ${root ? "as root" : "rootless"}, medians of ${RUNS} interleaved rounds, load average ${median(loads).toFixed(1)} (${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)})`);
  for (const [name, v] of rows) console.log(`  ${name.padEnd(50)} ${v.toFixed(0).padStart(6)} ms`);
  for (const v of variants) {
    const ratio = (xs) => median(xs.map((x, i) => x / v.times[i])).toFixed(2);
    console.log(`  vs ${v.name}: fresh session ${ratio(lading.cold)}×, network up ${ratio(lading.warm)}× (medians of the rounds' ratios)`);
  }
  console.log(`  a binding adds ${median(lading.bound.map((b, i) => b - lading.plain[i])).toFixed(0)} ms to an exec (median of the rounds' differences)`);
} finally {
  if (g) spawnSync(findTool("podman"), [...g, "system", "reset", "-f"], { stdio: "ignore" });
  // The CNI bridge plugin leaves its bridge on the host when the last container goes.
  if (cniNet) spawnSync("ip", ["link", "del", cniNet.name], { stdio: "ignore" });
  // Rootless, the store holds files of subordinate ids: removed from inside a user namespace.
  if (!root) spawnSync("unshare", ["--user", "--map-root-user", "--map-auto", "rm", "-rf", dir], { stdio: "ignore" });
  else spawnSync("rm", ["-rf", dir], { stdio: "ignore" });
  rmSync(runroot, { recursive: true, force: true }); // podman's storage too, mounts gone after its reset
  rmSync(dir, { recursive: true, force: true });
}
