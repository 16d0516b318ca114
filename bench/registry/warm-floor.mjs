#!/usr/bin/env node
// How low a warm push can go in Node: against the same local registry,
// skopeo's warm push, an empty Node process, a minimal Node push (node:http,
// the manifest read straight from the OCI layout: 2 HEADs and a PUT), and
// lading's. Medians of RUNS (default 7) in ms, each a whole process as the
// harness starts it. Usage: npx tsc && node bench/registry/warm-floor.mjs [RUNS]
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Store } from "../../dist/src/store/store.js";
import { startRegistry } from "../../dist/test/helpers/registry.js";
import { makeImage } from "../../dist/test/registry/images.js";

const RUNS = Number(process.argv[2] ?? 7);
const op = fileURLToPath(new URL("./lading-op.mjs", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "lading-bench-warm-"));
const minimal = join(work, "minimal-push.mjs");
writeFileSync(
  minimal,
  `import { readFileSync } from "node:fs";
import http from "node:http";
const [dir, host, repo, tag] = process.argv.slice(2);
const desc = JSON.parse(readFileSync(dir + "/index.json", "utf8")).manifests[0];
const raw = readFileSync(dir + "/blobs/sha256/" + desc.digest.slice(7));
const m = JSON.parse(raw);
const agent = new http.Agent({ keepAlive: true });
const [hostname, port] = host.split(":");
const req = (method, path, body, headers = {}) => new Promise((res, rej) => {
  const r = http.request({ hostname, port, method, path, agent, headers }, (resp) => { resp.resume(); resp.on("end", () => res(resp.statusCode)); });
  r.on("error", rej);
  r.end(body);
});
const heads = await Promise.all([m.config, ...m.layers].map((d) => req("HEAD", "/v2/" + repo + "/blobs/" + d.digest)));
if (heads.some((c) => c !== 200)) throw new Error("a blob is missing: " + heads);
if ((await req("PUT", "/v2/" + repo + "/manifests/" + tag, raw, { "content-type": desc.mediaType })) !== 201) throw new Error("manifest PUT refused");
agent.destroy();
`,
);

function timed(cmd, args) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
  return performance.now() - t0;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

let reg;
try {
  const src = join(work, "src");
  const store = await Store.open(src);
  const img = await makeImage(store, { layerSizes: [1 << 20] });
  const m = await store.putJson({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: img.config, layers: img.layers });
  await store.tag("bench", { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: m.digest, size: m.size });
  reg = await startRegistry();
  const ref = `${reg.host}/bench/app:1`;
  const skopeo = ["copy", "-q", "--dest-tls-verify=false", `oci:${src}:bench`, `docker://${ref}`];
  timed("skopeo", skopeo); // the blobs are there from now on: every push below is warm
  const rows = { "skopeo copy": [], "node -e 0": [], "minimal Node push (node:http)": [], "lading push": [] };
  for (let i = 0; i < RUNS; i++) {
    rows["skopeo copy"].push(timed("skopeo", skopeo));
    rows["node -e 0"].push(timed(process.execPath, ["-e", "0"]));
    rows["minimal Node push (node:http)"].push(timed(process.execPath, [minimal, src, reg.host, "bench/app", "1"]));
    rows["lading push"].push(timed(process.execPath, [op, "push", src, "bench", ref]));
  }
  console.log(`warm push, ${RUNS} runs, medians (ms)\n| process | ms |\n|---|---:|`);
  for (const [k, v] of Object.entries(rows)) console.log(`| ${k} | ${median(v).toFixed(0)} |`);
} finally {
  await reg?.stop();
  rmSync(work, { recursive: true, force: true });
}
