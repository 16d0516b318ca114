/**
 * Concurrency (issue 6): 8 build processes at once on one store, sharing a
 * base image and their first steps, half of them differing in a last step.
 * All succeed; identical inputs give identical digests (equal to the same
 * build run alone in its own store); names written at the same time all
 * land; the store is clean afterwards.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Store } from "../../src/store/store.js";
import { fsck } from "../../src/store/fsck.js";
import { tempDir } from "../helpers/tmp.js";
import { fileSha, makeInputs, runBuild } from "./build-harness.js";

const t = tempDir("lading-conc-");
after(t.cleanup);

const N = 8;
// With exec/ built, the shared steps include a RUN-like exec (raced by all builds at once).
const env = existsSync(fileURLToPath(new URL("../../src/exec/run.js", import.meta.url))) ? { LADING_SCRIPT_EXEC: "1" } : {};

test(`${N} concurrent builds on one store: all succeed, identical inputs give identical digests`, { timeout: 10 * 60_000 }, async () => {
  const inputs = await makeInputs(t.path);
  const alone = { a: await runBuild(join(t.path, "alone-a"), inputs, join(t.path, "alone-a.tar"), "a", { env }), b: await runBuild(join(t.path, "alone-b"), inputs, join(t.path, "alone-b.tar"), "b", { env }) };
  assert.equal(alone.a.code, 0, alone.a.stderr);
  assert.equal(alone.b.code, 0, alone.b.stderr);
  assert.notEqual(alone.a.stdout, alone.b.stdout);

  const shared = join(t.path, "shared");
  const runs = await Promise.all(
    Array.from({ length: N }, (_, i) => {
      const variant = i % 2 === 0 ? "a" : "b";
      return runBuild(shared, inputs, join(t.path, `out-${i}.tar`), variant, { tag: `conc-${variant}-${i}`, env }).then((r) => ({ ...r, i, variant: variant as "a" | "b" }));
    }),
  );
  for (const r of runs) {
    assert.equal(r.code, 0, `build ${r.i}: ${r.stderr}`);
    assert.equal(r.stdout, alone[r.variant].stdout, `build ${r.i} (${r.variant})`);
    assert.equal(fileSha(join(t.path, `out-${r.i}.tar`)), fileSha(join(t.path, `alone-${r.variant}.tar`)));
  }
  console.log(`# concurrency${env.LADING_SCRIPT_EXEC ? " (with an exec step)" : " (file steps only: exec/ not built)"}: ${N} builds took ${runs.map((r) => Math.round(r.ms)).join(", ")} ms (alone: ${Math.round(alone.a.ms)} ms)`);
  const store = await Store.open(shared);
  const names = (await store.listNames()).map((n) => n.name).sort();
  assert.deepEqual(names, runs.map((r) => `docker.io/library/conc-${r.variant}-${r.i}:latest`).sort(), "every concurrent tag landed in index.json");
  const report = await fsck(store);
  assert.equal(report.ok, true, JSON.stringify(report.problems));
});
