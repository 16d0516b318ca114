/**
 * Crash safety (issue 6): a build with file steps and an export is
 * SIGKILLed at 24 points spread over a cold run; after each kill the store
 * must be clean for fsck (temp files aside) and the same build must then
 * succeed with the digest and the tarball bytes of an uninterrupted build.
 * The exported tarball is never half-written: after a kill it is either
 * absent or complete. The kills must land in each phase: the base image's
 * import, a layer write, the exec, the export (kills aimed at a phase's
 * start, from the script's phase lines, cover the short ones).
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Store } from "../../src/store/store.js";
import { fsck } from "../../src/store/fsck.js";
import { tempDir } from "../helpers/tmp.js";
import { fileSha, killSweep, makeInputs, runBuild, type BuildRun } from "./build-harness.js";

const t = tempDir("lading-crash-");
after(t.cleanup);

const KILL_POINTS = 24;
const execAvailable = existsSync(fileURLToPath(new URL("../../src/exec/run.js", import.meta.url)));

test(`SIGKILL at ${KILL_POINTS} points of a build and export leaves a store fsck finds clean, and the next build gives the same digest`, { timeout: 15 * 60_000 }, async () => {
  const inputs = await makeInputs(t.path);
  const env = execAvailable ? { LADING_SCRIPT_EXEC: "1" } : {};
  console.log(execAvailable ? "# crash test: the build has file steps, an exec step and an export" : "# crash test: exec/run.js is not built, so the build has file steps and an export but no exec step");
  // Push kill points: crash-push.test.ts.

  const refStore = join(t.path, "ref-store");
  const refOut = join(t.path, "ref.tar");
  // Warm-up run (loads and JIT-compiles everything once), then the timed reference run in a fresh store.
  const warm = await runBuild(join(t.path, "warm-store"), inputs, join(t.path, "warm.tar"), "x", { env });
  assert.equal(warm.code, 0, warm.stderr);
  const ref = await runBuild(refStore, inputs, refOut, "x", { env });
  assert.equal(ref.code, 0, ref.stderr);
  assert.match(ref.stdout, /^sha256:[a-f0-9]{64}$/);
  const refTar = fileSha(refOut)!;

  const states = new Set<string>();
  /** Where each kill landed, from the script's phase lines: the phase → how many runs were killed in it. */
  const phases = new Map<string, number>();
  const check = async (run: BuildRun, at: string, k: number) => {
    const store = join(t.path, `store-${k}`);
    const out = join(t.path, `out-${k}.tar`);
    if (run.signal === "SIGKILL" && !run.stdout) phases.set(phaseOf(run.phaseAtKill!), (phases.get(phaseOf(run.phaseAtKill!)) ?? 0) + 1);
    // What the kill left: evidence the points differ.
    states.add((await describe(store)) + `/${existsSync(out) ? "tar" : (await readdir(t.path)).some((n) => n.startsWith(`.out-${k}.tar.`)) ? "tar-tmp" : "-"}`);
    const tarAfterKill = fileSha(out);
    assert.ok(tarAfterKill === undefined || tarAfterKill === refTar, `kill ${k} at ${at} left a partial ${out}`);

    if (existsSync(join(store, "index.json"))) {
      const report = await fsck(await Store.open(store));
      assert.equal(report.ok, true, `fsck after kill ${k} at ${at}: ${JSON.stringify(report.problems)}`);
    }
    const again = await runBuild(store, inputs, out, "x", { env });
    assert.equal(again.code, 0, `build after kill ${k} at ${at} failed: ${again.stderr}`);
    assert.equal(again.stdout, ref.stdout, `digest after kill ${k}`);
    assert.equal(fileSha(out), refTar, `tarball after kill ${k}`);
    const final = await fsck(await Store.open(store));
    assert.equal(final.ok, true, JSON.stringify(final.problems));
  };
  const killed = await killSweep(
    KILL_POINTS,
    ref.workMs,
    (at, k) => runBuild(join(t.path, `store-${k}`), inputs, join(t.path, `out-${k}.tar`), "x", { killAfterMs: at, env }),
    (run, at, k) => check(run, `${at} ms`, k),
  );
  // The time sweep spreads kills over the whole run, where the short phases (the base image's import, the export)
  // may go unhit: these kills are sent as such a phase begins.
  const aimed = ["running FROM", "export"];
  for (const [i, phase] of aimed.entries()) {
    const k = KILL_POINTS * 2 + i;
    const run = await runBuild(join(t.path, `store-${k}`), inputs, join(t.path, `out-${k}.tar`), "x", { killOnPhase: { phase, afterMs: 0 }, env });
    await check(run, `phase "${phase}"`, k);
  }
  const reached = [...phases].map(([p, n]) => `${p} ×${n}`).join(", ");
  console.log(`# crash test: ${killed} of ${KILL_POINTS} runs were killed mid-build (reference build and export: ${Math.round(ref.workMs)} ms), in phases: ${reached}; leaving ${states.size} distinct states (blobs/records/rootfs/snapshots/tmp/index/tarball): ${[...states].join(" ")}`);
  assert.ok(killed >= 20, `only ${killed} runs were killed before finishing`);
  for (const p of ["base image", "layer write", ...(execAvailable ? ["exec"] : []), "export"]) assert.ok(phases.has(p), `no kill landed in phase "${p}" (reached: ${reached})`);
});

/** A summary of how far a killed build got: counts of blobs, op-cache records, rootfs trees, names, temp files. */
async function describe(store: string): Promise<string> {
  const count = async (...p: string[]) => (await readdir(join(store, ...p)).catch(() => [] as string[])).length;
  return [await count("blobs", "sha256"), await count("lading", "opcache"), await count("lading", "rootfs"), await count("lading", "snapshots", "root"), await count("lading", "tmp"), existsSync(join(store, "index.json")) ? 1 : 0].join("/");
}

/** The phase a kill landed in, from the last phase line the build script wrote. */
function phaseOf(line: string): string {
  if (line === "ready") return "store open";
  if (/^(running|done) FROM /.test(line)) return "base image";
  if (/withExec/.test(line)) return "exec";
  if (/^running with/.test(line)) return "layer write";
  if (/^(running|done) export /.test(line)) return "export"; // the export's own step events, inside the script's "export" phase
  if (/^done with/.test(line)) return "between steps";
  return line; // "export", "exported"
}
