/**
 * Crash safety of a push and a pull (issue 6), against a real registry
 * (docker-registry on 127.0.0.1): SIGKILL at 28 points of each (at least 20 must land mid-transfer); after every
 * kill fsck finds the store clean and the same transfer then succeeds with
 * the image's digest.
 */
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
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
  const killed = await killSweep(
    KILL_POINTS,
    ref.workMs,
    (at, k) => runPush(store, "crash-push", dest(k), { killAfterMs: at }),
    async (_run, at, k) => {
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
  pushed = digest;
  console.log(`# push crash test: ${killed} of ${KILL_POINTS} pushes were killed mid-way (reference push ${Math.round(ref.workMs)} ms)`);
  assert.ok(killed >= MIN_KILLED, `only ${killed} pushes were killed before finishing`);
});

test(`SIGKILL at ${KILL_POINTS} points of a pull leaves a clean store, and the pull then succeeds`, { timeout: 10 * 60_000 }, async () => {
  assert.ok(pushed, "the push test put the image in the registry");
  const reference = `${registry.host}/crash/ref:1`;
  const ref = await runPull(join(t.path, "pull-ref"), reference);
  assert.equal(ref.code, 0, ref.stderr);
  assert.equal(ref.stdout, pushed);
  const killed = await killSweep(
    KILL_POINTS,
    ref.workMs,
    (at, k) => runPull(join(t.path, `pull-${k}`), reference, { killAfterMs: at }),
    async (_run, at, k) => {
      const store = join(t.path, `pull-${k}`);
      const report = await fsck(await Store.open(store));
      assert.equal(report.ok, true, `fsck after kill ${k} at ${at} ms: ${JSON.stringify(report.problems)}`);
      const again = await runPull(store, reference);
      assert.equal(again.code, 0, `pull after kill ${k} at ${at} ms: ${again.stderr}`);
      assert.equal(again.stdout, pushed);
      const after = await fsck(await Store.open(store));
      assert.equal(after.ok, true, JSON.stringify(after.problems));
    },
  );
  console.log(`# pull crash test: ${killed} of ${KILL_POINTS} pulls were killed mid-way (reference pull ${Math.round(ref.workMs)} ms)`);
  assert.ok(killed >= MIN_KILLED, `only ${killed} pulls were killed before finishing`);
});
