// `lading build` with RUN steps through the real runtime (as root, and in CI as an unprivileged user).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lading } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { makeBusyboxLayout, type TestImage } from "../helpers/images.js";
import { validateArchive } from "../helpers/validate.js";
import { run } from "../helpers/tools.js";

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

test("SOURCE_DATE_EPOCH as BuildKit has it: the build arg dates the image, ARG exposes it to RUN, the environment gives the default", async () => {
  const ctx = join(t.path, "ctx-epoch");
  mkdirSync(ctx);
  writeFileSync(join(ctx, "Containerfile"), `FROM ${busybox.ref}\nARG SOURCE_DATE_EPOCH\nRUN echo "epoch=$SOURCE_DATE_EPOCH" > /epoch\n`);
  const store = join(t.path, "store-epoch");
  /** The image's config and the contents of /epoch in its top layer. */
  const look = async (tar: string, name: string) => {
    const dir = join(t.path, name);
    await validateArchive(tar, dir);
    const blob = (d: string) => readFileSync(join(dir, "blobs", "sha256", d.slice(7)));
    const manifest = JSON.parse(blob(JSON.parse(readFileSync(join(dir, "index.json"), "utf8")).manifests[0].digest).toString("utf8"));
    const config = JSON.parse(blob(manifest.config.digest).toString("utf8"));
    const epoch = run("tar", ["-xzOf", join(dir, "blobs", "sha256", manifest.layers.at(-1).digest.slice(7)), "epoch"]);
    return { created: config.created as string, epoch };
  };
  const fromEnv = join(t.path, "epoch-env.tar");
  const r1 = await lading(["build", "--store", store, "-o", fromEnv, ctx], { env: { SOURCE_DATE_EPOCH: "1700000000" } });
  assert.equal(r1.code, 0, r1.stderr);
  assert.deepEqual(await look(fromEnv, "epoch-env"), { created: "2023-11-14T22:13:20Z", epoch: "epoch=1700000000\n" });
  const fromArg = join(t.path, "epoch-arg.tar");
  const r2 = await lading(["build", "--store", store, "--build-arg", "SOURCE_DATE_EPOCH=1600000000", "-o", fromArg, ctx], { env: { SOURCE_DATE_EPOCH: "1700000000" } });
  assert.equal(r2.code, 0, r2.stderr);
  assert.deepEqual(await look(fromArg, "epoch-arg"), { created: "2020-09-13T12:26:40Z", epoch: "epoch=1600000000\n" });
  const bad = await lading(["build", "--store", store, "--build-arg", "SOURCE_DATE_EPOCH=yesterday", "-o", join(t.path, "bad-epoch.tar"), ctx]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /SOURCE_DATE_EPOCH=yesterday: give whole seconds/);
  assert.equal(existsSync(join(t.path, "bad-epoch.tar")), false);
});
