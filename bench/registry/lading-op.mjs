#!/usr/bin/env node
// One lading registry operation in its own process (so start-up counts, as it does for skopeo):
//   lading-op.mjs push STORE NAME REF   |   lading-op.mjs pull REF STORE
// Prints {"ms":…, "maxRssMB":…} on stdout.
import { Store } from "../../dist/src/store/store.js";
import { RegistryClient } from "../../dist/src/registry/client.js";
import { parseReference } from "../../dist/src/registry/reference.js";

const [op, a, b, c] = process.argv.slice(2);
const t0 = performance.now();
if (process.env.BENCH_TRACE) process.stderr.write(`imports done at ${t0.toFixed(0)} ms after process start\n`);
// Peak RSS sampled here: getrusage's ru_maxrss would include the parent's before exec.
let peakRss = process.memoryUsage.rss();
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 5);
const client = new RegistryClient({
  ...(process.env.BENCH_TRACE ? { onRequest: (r) => process.stderr.write(`${(performance.now() - t0).toFixed(0)} ${r.method} ${r.url}\n`) } : {}),
  ...(process.env.BENCH_CHUNK_MB ? { chunkSize: Number(process.env.BENCH_CHUNK_MB) << 20 } : {}),
});
try {
  if (op === "push") {
    const store = await Store.open(a);
    const root = await store.resolveName(b);
    if (!root) throw new Error(`no image ${b} in ${a}`);
    await client.push(store, root, parseReference(c));
  } else if (op === "pull") {
    const store = await Store.open(b);
    await client.pull(parseReference(a), store);
  } else {
    throw new Error(`unknown op ${op}`);
  }
} finally {
  await client.close();
}
clearInterval(sampler);
process.stdout.write(JSON.stringify({ ms: performance.now() - t0, maxRssMB: Math.round(peakRss / (1 << 20)) }) + "\n");
