// `lading build` with RUN steps through the real runtime (as root, and in CI as an unprivileged user).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lading } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { makeBusyboxLayout, type TestImage } from "../helpers/images.js";
import { validateArchive } from "../helpers/validate.js";

const t = tempDir("lading-clirun-");
let busybox: TestImage;
before(async () => {
  busybox = await makeBusyboxLayout(join(t.path, "busybox"));
});
after(t.cleanup);

test("RUN steps build, show CPU figures in json progress, and a failing RUN names its line", async () => {
  const ctx = join(t.path, "ctx");
  mkdirSync(ctx);
  writeFileSync(join(ctx, "Containerfile"), `FROM ${busybox.ref}\nRUN echo built > /built && chown app:app /built\nUSER app\nRUN id -u > /home/app/uid\n`);
  const store = join(t.path, "store");
  const out = join(t.path, "img.tar");
  const r = await lading(["build", "--progress", "json", "--store", store, "-o", out, ctx]);
  assert.equal(r.code, 0, r.stderr);
  const report = await validateArchive(out, join(t.path, "img"));
  assert.equal(report.layers, 3);
  const done = r.stderr.trim().split("\n").map((l) => JSON.parse(l)).filter((e) => e.type === "step" && e.status === "done" && e.name.startsWith("RUN"));
  assert.equal(done.length, 2);
  for (const e of done) assert.equal(typeof e.metrics?.cpuUserSeconds, "number", JSON.stringify(e));

  writeFileSync(join(ctx, "Containerfile"), `FROM ${busybox.ref}\nENV A=1\n\nRUN echo failing >&2; exit 3\n`);
  const bad = await lading(["build", "--progress", "plain", "--store", store, "-o", join(t.path, "bad.tar"), ctx]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /Containerfile:4: RUN .*exit code: 3/);
  assert.match(bad.stderr, /failing/);
  // The failed command's own fields survive the located message, once each.
  assert.match(bad.stderr, /^  command: \["\/bin\/sh","-c","echo failing >&2; exit 3"\]$/m);
  assert.match(bad.stderr, /^  exit code: 3$/m);
  // The located error wraps the step's own: its message already says all of it.
  assert.doesNotMatch(bad.stderr, /caused by:/);
});
