/**
 * The compatibility runner (bench/compat/run.mjs) as a user runs it: on
 * lading's own Containerfile corpus against buildah 1.28 (every file the
 * same result, or a difference listed in compat-exceptions.txt with its
 * reason), and on files made to differ (each difference printed, the
 * summary counted, the exit code set).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeBusyboxLayout, type TestImage } from "../helpers/images.js";
import { tempDir } from "../helpers/tmp.js";
import { has } from "../helpers/tools.js";
import { execUnavailable } from "./exec-probe.js";

const RUNNER = fileURLToPath(new URL("../../../bench/compat/run.mjs", import.meta.url));
const CORPUS = fileURLToPath(new URL("../../../fixtures/containerfiles/", import.meta.url));

const skip = !has("buildah") ? "buildah is not installed" : process.getuid?.() !== 0 ? "the root pass runs it (buildah's storage of the runner is made as root there)" : false;
const tmp = tempDir();
let base: TestImage;
let noExec: string | undefined;

before(async () => {
  base = await makeBusyboxLayout(join(tmp.path, "base"));
  noExec = await execUnavailable();
});
after(() => tmp.cleanup());

function runner(args: string[]): { code: number | null; lines: string[] } {
  const work = join(tmp.path, "runner-tmp");
  mkdirSync(work, { recursive: true });
  const r = spawnSync(process.execPath, [RUNNER, ...args], { encoding: "utf8", env: { ...process.env, TMPDIR: work } });
  // The runner removes its work folder, buildah's storage included.
  assert.deepEqual(readdirSync(work), [], "the runner left its work folder");
  return { code: r.status, lines: (r.stdout + r.stderr).split("\n").filter(Boolean) };
}

test("lading's corpus gives buildah's result, but for the listed exceptions", { skip }, async (t) => {
  if (noExec) return t.skip(noExec);
  const okFiles = readdirSync(join(CORPUS, "ok")).length;
  const badFiles = readdirSync(join(CORPUS, "bad")).filter((n) => n.endsWith(".Containerfile")).length;
  const listed = readFileSync(join(CORPUS, "compat-exceptions.txt"), "utf8").split("\n").filter((l) => /^\S+: /.test(l)).length;
  // Two files at once (the lines still come in file order): buildah waits on its runtime much of the time.
  const r = runner(["--jobs", "2", "--base", `busybox=${base.ref}`, "--build-arg", "BASE=busybox", CORPUS]);
  const summary = r.lines.at(-1) ?? "";
  const other = r.lines.slice(0, -1).filter((l) => !l.includes(": known difference ("));
  assert.deepEqual(other, [], "every line but the summary is a listed difference");
  assert.equal(summary, `${okFiles + badFiles} files, ${okFiles + badFiles - listed} same result, 0 differ (and ${listed} known differences, listed with the reason)`);
  assert.equal(r.code, 0);
});

test("differences are printed one per line, counted, and set the exit code", { skip }, async (t) => {
  if (noExec) return t.skip(noExec);
  const dir = join(tmp.path, "mine");
  const files: Record<string, string> = {
    // The same in both: files, owners, config.
    "same/Dockerfile": "FROM busybox\nRUN mkdir /data && echo hi > /data/f && chown 1000:1000 /data/f\nENV A=1\nUSER app\nWORKDIR /data\nCMD [\"sh\"]\n",
    // buildah 1.28 has no heredocs: an outcome that differs.
    "heredoc/Containerfile": "FROM busybox\nCOPY <<EOF /x\nx\nEOF\n",
    // A port range: docker's (and lading's) one key per port, buildah's one key for the range.
    "ports/app.Dockerfile": "FROM busybox\nEXPOSE 8000-8001\n",
  };
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(dir, p, ".."), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  const args = ["--jobs", "2", "--base", `busybox=${base.ref}`, dir];
  const r = runner(args);
  assert.equal(r.code, 1);
  assert.ok(r.lines.some((l) => l.startsWith("heredoc/Containerfile: builds with lading, fails with buildah: ")), r.lines.join("\n"));
  assert.ok(r.lines.includes('ports/app.Dockerfile: config ExposedPorts: lading={"8000/tcp":{},"8001/tcp":{}} buildah={"8000-8001/tcp":{}}'), r.lines.join("\n"));
  assert.equal(r.lines.at(-1), "3 files, 1 same result, 2 differ");
  // Built two at a time, printed in file order.
  const printed = r.lines.slice(0, -1).map((l) => l.slice(0, l.indexOf(": ")));
  assert.deepEqual(printed, [...printed].sort(), r.lines.join("\n"));

  assert.equal(runner(["--no-fail", ...args]).code, 0);
  const exceptions = join(tmp.path, "known.txt");
  writeFileSync(exceptions, "# why they differ\nheredoc: buildah 1.28 has no heredocs\nports/app.Dockerfile: buildah keeps EXPOSE ranges as one key\n");
  const known = runner(["--exceptions", exceptions, ...args]);
  assert.equal(known.code, 0);
  assert.ok(known.lines.includes("heredoc/Containerfile: known difference (buildah 1.28 has no heredocs); 1 line not shown"), known.lines.join("\n"));
  assert.equal(known.lines.at(-1), "3 files, 1 same result, 0 differ (and 2 known differences, listed with the reason)");
});

test("a run it cannot do says why and exits 2", async () => {
  const none = runner([]);
  assert.equal(none.code, 2);
  assert.match(none.lines.join("\n"), /give at least one DIR/);
  const badBase = runner(["--base", "busybox", tmp.path]);
  assert.equal(badBase.code, 2);
  assert.match(badBase.lines.join("\n"), /--base busybox: expected NAME=oci:DIR\[:TAG\]/);
  const jobs = runner(["--jobs", "0", tmp.path]);
  assert.equal(jobs.code, 2);
  assert.match(jobs.lines.join("\n"), /--jobs 0: expected a whole number of at least 1/);
  const missing = runner([join(tmp.path, "nowhere")]);
  assert.equal(missing.code, 2);
  assert.match(missing.lines.join("\n"), /nowhere is not a directory/);
});
