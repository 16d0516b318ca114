/**
 * Crash safety of a push and a pull (issue 6), against a real registry
 * (docker-registry on 127.0.0.1): SIGKILL at 28 points of each (at least 20 must land mid-transfer); after every
 * kill fsck finds the store clean and the same transfer then succeeds with
 * the image's digest.
 */
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { Store } from "../../src/store/store.js";
import { fsck } from "../../src/store/fsck.js";
import { tempDir } from "../helpers/tmp.js";
import { startRegistry, type RegistryHandle } from "../helpers/registry.js";
import { killSweep, makeInputs, runBuild, runPull, runPush } from "./build-harness.js";

const t = tempDir("lading-crash-push-");
let registry: RegistryHandle;
before(async () => {
  registry = await startRegistry();
});
after(async () => {
  await registry?.stop();
  t.cleanup();
});

/** More offsets than the 20 required; killSweep shrinks the offsets when a transfer outruns its kill. */
const KILL_POINTS = 28;
const MIN_KILLED = 20;
/** The pushed image's digest, for the pull test. */
let pushed: string | undefined;

test(`SIGKILL at ${KILL_POINTS} points of a push leaves a clean store, and the push then succeeds`, { timeout: 10 * 60_000 }, async () => {
  const inputs = await makeInputs(t.path);
  const store = join(t.path, "store");
  const built = await runBuild(store, inputs, join(t.path, "img.tar"), "p", { tag: "crash-push" });
  assert.equal(built.code, 0, built.stderr);
  const digest = built.stdout;

  const first = await runPush(store, "crash-push", `${registry.host}/crash/ref:1`);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, `${registry.host}/crash/ref:1@${digest}`);
  // Timed on a second repository: later pushes find the blobs in the registry already (mounts), as this one does.
  const ref = await runPush(store, "crash-push", `${registry.host}/crash/ref2:1`);
  assert.equal(ref.code, 0, ref.stderr);

  // A fresh repository each time, so every push has its blobs to send.
  const dest = (k: number) => `${registry.host}/crash/k${k}:1`;
  const manifest = await (await Store.open(store)).readJson<{ config: { digest: string }; layers: Array<{ digest: string }> }>(digest as `sha256:${string}`);
  const blobs = [manifest.config.digest, ...manifest.layers.map((l) => l.digest)];
  /** What the registry held of each killed push: "<blobs in the repository>/<of all>[+manifest]" → how many kills left it. */
  const states = new Map<string, number>();
  const killed = await killSweep(
    KILL_POINTS,
    ref.workMs,
    (at, k) => runPush(store, "crash-push", dest(k), { killAfterMs: at }),
    async (run, at, k) => {
      if (run.signal === "SIGKILL" && !run.stdout) {
        const st = await registryState(`crash/k${k}`, blobs);
        states.set(st, (states.get(st) ?? 0) + 1);
      }
      const report = await fsck(await Store.open(store));
      assert.equal(report.ok, true, `fsck after kill ${k} at ${at} ms: ${JSON.stringify(report.problems)}`);
      const again = await runPush(store, "crash-push", dest(k));
      assert.equal(again.code, 0, `push after kill ${k} at ${at} ms: ${again.stderr}`);
      assert.equal(again.stdout, `${dest(k)}@${digest}`);
      const res = await fetch(`${registry.url}/v2/crash/k${k}/manifests/1`, { method: "HEAD", headers: { accept: "application/vnd.oci.image.manifest.v1+json" } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("docker-content-digest"), digest);
    },
  );
  // On a fast machine the first blob and the manifest may be a few ms apart, and timed kills can all
  // miss that window: a kill as the first blob is reported done (a phase line per blob) lands in it.
  const midway = (st: string) => !st.startsWith("0/") && !st.endsWith("+manifest");
  for (let k = KILL_POINTS * 2; ![...states.keys()].some(midway) && k < KILL_POINTS * 2 + 6; k++) {
    const run = await runPush(store, "crash-push", dest(k), { killOnPhase: { phase: /^(done|cached) push blob /, afterMs: 0 } });
    if (run.signal === "SIGKILL" && !run.stdout) {
      const st = await registryState(`crash/k${k}`, blobs);
      states.set(st, (states.get(st) ?? 0) + 1);
    }
    assert.equal((await fsck(await Store.open(store))).ok, true, `fsck after the kill on a blob, run ${k}`);
    const again = await runPush(store, "crash-push", dest(k));
    assert.equal(again.code, 0, `push after the kill on a blob, run ${k}: ${again.stderr}`);
  }
  pushed = digest;
  const left = [...states].map(([st, n]) => `${st} ×${n}`).join(", ");
  console.log(`# push crash test: ${killed} of ${KILL_POINTS} pushes were killed mid-way (reference push ${Math.round(ref.workMs)} ms), leaving in the registry: ${left}`);
  assert.ok(killed >= MIN_KILLED, `only ${killed} pushes were killed before finishing`);
  // The kills landed in distinct phases: before any blob, with the blobs (some or all) but no manifest.
  assert.ok(states.has(`0/${blobs.length}`), `no kill landed before the first blob (${left})`);
  assert.ok([...states.keys()].some((st) => !st.startsWith("0/") && !st.endsWith("+manifest")), `no kill landed between the first blob and the manifest (${left})`);
});

test(`SIGKILL at ${KILL_POINTS} points of a pull leaves a clean store, and the pull then succeeds`, { timeout: 10 * 60_000 }, async () => {
  assert.ok(pushed, "the push test put the image in the registry");
  const reference = `${registry.host}/crash/ref:1`;
  const ref = await runPull(join(t.path, "pull-ref"), reference);
  assert.equal(ref.code, 0, ref.stderr);
  assert.equal(ref.stdout, pushed);
  const image = await Store.open(join(t.path, "pull-ref"));
  const manifest = await image.readJson<{ config: { digest: string }; layers: Array<{ digest: string }> }>(pushed as `sha256:${string}`);
  const blobs = [pushed, manifest.config.digest, ...manifest.layers.map((l) => l.digest)];
  /** What each killed pull left in its store: "<image blobs present>/<of all>[+ingest][+pin]" → how many kills left it. */
  const states = new Map<string, number>();
  const killed = await killSweep(
    KILL_POINTS,
    ref.workMs,
    (at, k) => runPull(join(t.path, `pull-${k}`), reference, { killAfterMs: at }),
    async (run, at, k) => {
      const store = join(t.path, `pull-${k}`);
      if (run.signal === "SIGKILL" && !run.stdout) {
        const st = await storeState(store, blobs);
        states.set(st, (states.get(st) ?? 0) + 1);
      }
      const report = await fsck(await Store.open(store));
      assert.equal(report.ok, true, `fsck after kill ${k} at ${at} ms: ${JSON.stringify(report.problems)}`);
      const again = await runPull(store, reference);
      assert.equal(again.code, 0, `pull after kill ${k} at ${at} ms: ${again.stderr}`);
      assert.equal(again.stdout, pushed);
      const after = await fsck(await Store.open(store));
      assert.equal(after.ok, true, JSON.stringify(after.problems));
    },
  );
  const left = [...states].map(([st, n]) => `${st} ×${n}`).join(", ");
  console.log(`# pull crash test: ${killed} of ${KILL_POINTS} pulls were killed mid-way (reference pull ${Math.round(ref.workMs)} ms), leaving in the store: ${left}`);
  assert.ok(killed >= MIN_KILLED, `only ${killed} pulls were killed before finishing`);
  // The kills landed in distinct phases: before any blob, and with some blobs (or a download under way) but not all.
  assert.ok(states.has(`0/${blobs.length}`), `no kill landed before the first blob (${left})`);
  assert.ok([...states.keys()].some((st) => (!st.startsWith("0/") || st.includes("+ingest")) && !st.startsWith(`${blobs.length}/`)), `no kill landed mid-download (${left})`);
});

/** Which of `blobs` the registry's repository `repo` holds, and whether its tag 1 exists. */
async function registryState(repo: string, blobs: string[]): Promise<string> {
  let held = 0;
  for (const b of blobs) if ((await fetch(`${registry.url}/v2/${repo}/blobs/${b}`, { method: "HEAD" })).status === 200) held++;
  const m = await fetch(`${registry.url}/v2/${repo}/manifests/1`, { method: "HEAD", headers: { accept: "application/vnd.oci.image.manifest.v1+json" } });
  return `${held}/${blobs.length}${m.status === 200 ? "+manifest" : ""}`;
}

/** Which of `blobs` a store holds, whether a download's temp file is there, and whether the reference is pinned. */
async function storeState(dir: string, blobs: string[]): Promise<string> {
  const present = new Set(await readdir(join(dir, "blobs", "sha256")).catch(() => [] as string[]));
  const held = blobs.filter((b) => present.has(b.slice("sha256:".length))).length;
  const ingest = (await readdir(join(dir, "lading", "tmp")).catch(() => [] as string[])).length > 0;
  const pinned = (await readdir(join(dir, "lading", "pins")).catch(() => [] as string[])).length > 0;
  return `${held}/${blobs.length}${ingest ? "+ingest" : ""}${pinned ? "+pin" : ""}`;
}
