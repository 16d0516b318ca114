#!/usr/bin/env node
// Where a cold push's wall time goes (issue 17, second row), for lading and
// for skopeo on the same input: `lading push --store FRESH oci:LAYOUT:bench
// REG/x:1` against `skopeo copy oci:… docker://REG/x:1`, each to a new
// docker-registry of its own, interleaved pair by pair, both under `nice -n
// -15`. Each tool runs under `strace -f --seccomp-bpf -e
// trace=execve,connect,exit_group` (only those calls stop the tracee, so it
// costs little) for the moments of exec, first connect and exit; the
// registry logs each request (start = its end less the duration it
// measured), so the phases are: exec → first request, first request → the
// largest blob's upload starts, that upload, its 201 → the manifest's 201,
// the manifest's 201 → exit. The registry's CPU comes from /proc/PID/stat.
// `node -e 0` under the same strace is printed as the floor.
// Usage: node bench/whole/push-timeline.mjs [RUNS=7]   (root; `npm run build` first)
// BENCH_PAYLOAD_MB as in run.mjs (default 133).
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startRegistry } from "../../dist/test/helpers/registry.js";
import { makePayloadLayout } from "../payload-layout.mjs";

const RUNS = Number(process.argv[2] ?? 7);
const PAYLOAD_MB = Number(process.env.BENCH_PAYLOAD_MB ?? 133);
const ladingRoot = process.env.BENCH_LADING_ROOT ?? fileURLToPath(new URL("../..", import.meta.url));
const work = join(process.env.BENCH_TMP ?? tmpdir(), `lading-bench-timeline-${process.pid}`);
mkdirSync(work);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs argv under nice, GNU time and a light strace; returns wall, CPU and the traced moments (epoch ms). */
function traced(argv) {
  const log = join(work, "strace.txt");
  const cmd = ["-n", "-15", "/usr/bin/time", "-f", "@@cpu %U %S", "strace", "-f", "--seccomp-bpf", "-ttt", "-e", "trace=execve,connect,exit_group", "-o", log, ...argv];
  const t0 = process.hrtime.bigint();
  const r = spawnSync("nice", cmd, { encoding: "utf8", maxBuffer: 1 << 24 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(" ")}: exit ${r.status}\n${r.stderr}`);
  const m = /@@cpu ([\d.]+) ([\d.]+)/.exec(r.stderr);
  const lines = readFileSync(log, "utf8").split("\n").filter(Boolean);
  const at = (l) => Number(l.split(/\s+/)[1]) * 1000;
  const first = (re) => {
    const l = lines.find((x) => re.test(x));
    return l ? at(l) : NaN;
  };
  return {
    wall,
    cpu: m ? (Number(m[1]) + Number(m[2])) * 1000 : NaN,
    exec: first(/execve\(/),
    connect: (port) => first(new RegExp(`connect\\(.*htons\\(${port}\\)`)),
    exit: Math.max(...lines.filter((x) => /\+\+\+ exited/.test(x)).map(at)),
  };
}

function cpuOf(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) * 10; // clock ticks of 10 ms
}

const layout = await makePayloadLayout(join(work, "layout"), work, PAYLOAD_MB, { plain: true });
const src = `oci:${layout}:bench`;
const tools = {
  lading: (host, store) => [process.execPath, join(ladingRoot, "bin", "lading.js"), "push", "--progress", "quiet", "--store", store, "--insecure-registry", host, src, `${host}/bench/x:1`],
  skopeo: (host) => ["skopeo", "copy", "-q", "--dest-tls-verify=false", src, `docker://${host}/bench/x:1`],
};
const rows = { lading: [], skopeo: [] };
const floor = [];
const load0 = loadavg();
try {
  for (let i = 0; i < RUNS; i++) {
    for (const name of i % 2 ? ["skopeo", "lading"] : ["lading", "skopeo"]) {
      const reg = await startRegistry({ requestLog: true });
      const store = join(work, `store-${i}`);
      try {
        const cpu0 = cpuOf(reg.pid);
        const t = traced(tools[name](reg.host, store));
        await new Promise((r) => setTimeout(r, 50)); // the last log line
        const regCpu = cpuOf(reg.pid) - cpu0;
        const q = reg.requests();
        const firstReq = Math.min(...q.map((x) => x.start));
        const big = q.filter((x) => x.uri.includes("/blobs/uploads/")).reduce((a, x) => (x.end - x.start > a.end - a.start ? x : a));
        const manifest = q.filter((x) => x.method === "PUT" && x.uri.includes("/manifests/")).at(-1);
        const port = reg.host.split(":")[1];
        rows[name].push({
          wall: t.wall,
          cpu: t.cpu,
          regCpu,
          connect: t.connect(port) - t.exec,
          firstReq: firstReq - t.exec,
          toBig: big.start - firstReq,
          big: big.end - big.start,
          bigToManifest: manifest.end - big.end,
          manifestToExit: t.exit - manifest.end,
          requests: q.length,
        });
      } finally {
        await reg.stop();
        rmSync(store, { recursive: true, force: true });
      }
    }
    const f = traced([process.execPath, "-e", "0"]);
    floor.push(f.exit - f.exec);
  }
  const load1 = loadavg();
  console.log(`cold push timeline, ${PAYLOAD_MB + 1} MB image, medians of ${RUNS} (ms); load average before ${load0.map((x) => x.toFixed(2)).join(" ")}, after ${load1.map((x) => x.toFixed(2)).join(" ")}`);
  console.log(`\`node -e 0\` under the same strace, exec → exit: ${median(floor).toFixed(0)} ms; NODE_EXTRA_CA_CERTS ${process.env.NODE_EXTRA_CA_CERTS ? "set (node parses it at start: see run.mjs's header)" : "not set"}`);
  const cols = [
    ["exec → first connect", "connect"],
    ["exec → first request", "firstReq"],
    ["first request → largest upload starts", "toBig"],
    ["largest upload (request → 201)", "big"],
    ["its 201 → manifest 201", "bigToManifest"],
    ["manifest 201 → exit", "manifestToExit"],
    ["wall (under strace)", "wall"],
    ["CPU (user+sys)", "cpu"],
    ["registry CPU", "regCpu"],
    ["requests", "requests"],
  ];
  console.log("| phase | lading | skopeo |\n|---|---:|---:|");
  for (const [label, k] of cols) console.log(`| ${label} | ${median(rows.lading.map((x) => x[k])).toFixed(0)} | ${median(rows.skopeo.map((x) => x[k])).toFixed(0)} |`);
  console.log(`paired wall ratio lading/skopeo: ${median(rows.lading.map((x, i) => x.wall / rows.skopeo[i].wall)).toFixed(2)}×`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
