#!/usr/bin/env node
// The session network beyond bindings (issue 14): what a plain
// `withExec(["true"], { noCache: true })` costs when it runs on the session
// network (a service runs, so it joins it) against the host-network path
// (no service running), and what the way out (slirp4netns, started with
// the session network) adds to a fresh session's first `start()`, against
// `connect({ serviceOutbound: false })`. The anchor is lading's own path
// without the feature; pairs interleaved, medians of the per-pair ratios.
// Run it as the user you measure (rootless: through .ci/rootless.sh).
//   node bench/services/outbound.mjs [RUNS]
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { connect } from "../../dist/src/index.js";
import { makeBusyboxLayout } from "../../dist/test/helpers/images.js";

const RUNS = Number(process.argv[2] ?? process.env.BENCH_RUNS ?? 10);
const dir = join("/tmp", `lading-bench-svcnet-${process.getuid()}-${process.pid}`);
mkdirSync(dir);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const cpu0 = process.cpuUsage();

try {
  const image = await makeBusyboxLayout(join(dir, "busybox"), "bb");
  const store = join(dir, "store");
  const httpd = (c) => c.withExposedPort(80).withExec(["sh", "-c", "exec httpd -f -p 80 -h /"]).asService().withHostname("web");

  const host = [], moved = [], execRatio = [];
  const client = await connect({ store });
  try {
    const bb = client.container().from(image.ref);
    await bb.withExec(["true"], { noCache: true }).sync(); // the snapshot and a helper, once
    for (let i = 0; i < RUNS + 1; i++) {
      let t0 = process.hrtime.bigint();
      await bb.withExec(["true"], { noCache: true }).sync();
      const h = ms(t0);
      await httpd(bb).start();
      t0 = process.hrtime.bigint();
      await bb.withExec(["true"], { noCache: true }).sync();
      const m = ms(t0);
      await httpd(bb).stop({ kill: true });
      if (i === 0) continue; // the first pair warms the session network's code
      host.push(h), moved.push(m), execRatio.push(m / h);
    }
  } finally {
    await client.close();
  }

  const withOut = [], closed = [], startRatio = [];
  for (let i = 0; i < RUNS; i++) {
    const t = {};
    for (const serviceOutbound of i % 2 ? [false, true] : [true, false]) {
      const s = await connect({ store, serviceOutbound });
      try {
        const t0 = process.hrtime.bigint();
        await httpd(s.container().from(image.ref)).start();
        t[serviceOutbound] = ms(t0);
      } finally {
        await s.close();
      }
    }
    withOut.push(t.true), closed.push(t.false), startRatio.push(t.true / t.false);
  }

  const cpu = process.cpuUsage(cpu0);
  console.log(`session network, ${process.getuid() === 0 ? "as root" : "rootless"}, medians of ${RUNS}, load average ${loadavg()[0].toFixed(1)}`);
  console.log(`  withExec(["true"]), no service running (host network)   ${median(host).toFixed(0).padStart(6)} ms`);
  console.log(`  the same while a service runs (session network)          ${median(moved).toFixed(0).padStart(6)} ms   ratio ${median(execRatio).toFixed(2)}×`);
  console.log(`  first start() of a fresh session, serviceOutbound: false ${median(closed).toFixed(0).padStart(6)} ms`);
  console.log(`  the same with the way out (slirp4netns)                  ${median(withOut).toFixed(0).padStart(6)} ms   ratio ${median(startRatio).toFixed(2)}×`);
  console.log(`  lading's own CPU (user+sys) for the whole run: ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s`);
} finally {
  // Rootless, the store holds files of subordinate ids: removed from inside a user namespace.
  if (process.getuid() !== 0) spawnSync("unshare", ["--user", "--map-root-user", "--map-auto", "rm", "-rf", dir], { stdio: "ignore" });
  rmSync(dir, { recursive: true, force: true });
}
