/**
 * `lading prune` (and `prune --all`) run over and over in one process while
 * a build runs in another on the same store. The build's lease must keep
 * what it uses: it ends with the digest and tarball of the same build run
 * alone (or, at worst, with a clear error, never a broken image), every
 * prune exits 0, and `lading fsck` finds the store clean after each round.
 * The same inputs every round, and what a round left is aged an hour, so
 * each build meets the blobs and records of the round before just as a
 * prune is free to remove them.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { lading } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { userEnv } from "../cli/user-env.js";
import { fileSha, makeInputs, runBuild, type BuildRun } from "./build-harness.js";
import { HOUR, ageTree } from "./fixture.js";

const t = tempDir("lading-prune-race-");
after(t.cleanup);
const { env } = userEnv(t.path);
const ROUNDS = 6;
const execEnv = existsSync(fileURLToPath(new URL("../../src/exec/run.js", import.meta.url))) ? { LADING_SCRIPT_EXEC: "1" } : {};

test(`prune and prune --all racing a build on one store, ${ROUNDS} rounds: the build keeps what it uses and fsck stays clean`, { timeout: 10 * 60_000 }, async () => {
  const inputs = await makeInputs(t.path);
  const alone = await runBuild(join(t.path, "alone"), inputs, join(t.path, "alone.tar"), "r", { env: execEnv });
  assert.equal(alone.code, 0, alone.stderr);
  const aloneTar = fileSha(join(t.path, "alone.tar"));

  const store = join(t.path, "shared");
  let prunes = 0;
  let prunedSomething = 0;
  /** Prunes that ended while the build was still running: the race happened. */
  let overlapped = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const all = round % 2 === 1;
    const out = join(t.path, `out-${round}.tar`);
    let done: BuildRun | undefined;
    const build = runBuild(store, inputs, out, "r", { tag: `race-${round}`, env: execEnv }).then((r) => (done = r));
    // Prune back to back until the build ends (and once more, so the next round starts from what a prune left).
    do {
      const p = await lading(["prune", "--json", ...(all ? ["--all"] : []), "--store", store], { env });
      assert.equal(p.code, 0, `prune${all ? " --all" : ""} in round ${round}: ${p.stderr}`);
      prunes++;
      if (JSON.parse(p.stdout).removed?.length) prunedSomething++;
      if (!done) overlapped++;
    } while (!done);
    const r = await build;
    assert.equal(r.code, 0, `build in round ${round} (racing prune${all ? " --all" : ""}): ${r.stderr}`);
    assert.equal(r.stdout, alone.stdout, `digest in round ${round}`);
    assert.equal(fileSha(out), aloneTar, `tarball in round ${round}`);
    const fsck = await lading(["fsck", "--json", "--store", store], { env });
    assert.equal(fsck.code, 0, `fsck after round ${round}: ${fsck.stdout}${fsck.stderr}`);
    // Everything this round left now looks an hour old, so the next round's prunes may take any of it
    // (only the next build's claims can keep it), however fast the machine runs the rounds.
    ageTree(store, HOUR);
  }
  console.log(`# prune race: ${prunes} prunes over ${ROUNDS} builds, ${overlapped} of them ran inside a build, ${prunedSomething} removed something`);
  assert.ok(overlapped >= ROUNDS / 2, `only ${overlapped} prunes ran while a build did: the race was not run`);
});
