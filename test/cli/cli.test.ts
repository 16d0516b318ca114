import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { lading } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { validateArchive } from "../helpers/validate.js";
import { run } from "../helpers/tools.js";

const t = tempDir("lading-cli-");
after(t.cleanup);
const example = fileURLToPath(new URL("../../../examples/hello", import.meta.url));
const store = join(t.path, "store");

test("--version and --help answer, and every command has --help", async () => {
  const v = await lading(["--version"]);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^\d+\.\d+\.\d+/);
  for (const cmd of ["build", "inspect", "images", "rmi", "pull", "push", "login", "logout"]) {
    const h = await lading([cmd, "--help"]);
    assert.equal(h.code, 0, `${cmd} --help: ${h.stderr}`);
    assert.match(h.stdout, /Usage: lading/);
  }
});

test("usage errors exit 2 with a message and no stack trace", async () => {
  const r = await lading(["build", "--bogus-flag"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown option/);
  const r2 = await lading(["build", join(t.path, "no-such-dir")]);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /does not exist/);
  assert.doesNotMatch(r2.stderr, /\n\s+at /);
  const r3 = await lading(["build", "-o", "type=weird,dest=x", example, "--store", store]);
  assert.equal(r3.code, 2);
  assert.match(r3.stderr, /unknown type "weird"/);
});

test("build the example: digest alone on stdout, a valid tarball, and a cached second run does no layer work", async () => {
  const out = join(t.path, "hello.tar");
  const r = await lading(["build", "-t", "hello:latest", "-o", out, "--progress", "json", "--store", store, example]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^sha256:[a-f0-9]{64}$/);
  const report = await validateArchive(out, join(t.path, "hello"));
  assert.ok(report.layers >= 2);
  const skopeo = JSON.parse(run("skopeo", ["inspect", `oci-archive:${out}`]));
  assert.equal(skopeo.Digest, lines[0]);
  const events1 = r.stderr.trim().split("\n").map((l) => JSON.parse(l));
  assert.ok(events1.some((e) => e.type === "step" && e.status === "done" && e.layerWork));

  const again = await lading(["build", "-t", "hello:latest", "--progress", "json", "--store", store, example]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout.trim(), lines[0]);
  const events2 = again.stderr.trim().split("\n").map((l) => JSON.parse(l));
  assert.ok(events2.some((e) => e.type === "step" && e.status === "cached"));
  assert.ok(!events2.some((e) => e.type === "step" && e.layerWork === true), "second build did layer work");

  const insp = await lading(["inspect", "hello:latest", "--store", store]);
  assert.equal(insp.code, 0, insp.stderr);
  const summary = JSON.parse(insp.stdout);
  assert.equal(summary.Digest, lines[0]);
  assert.equal(summary.Config.Labels["org.opencontainers.image.title"], "hello");
  const raw = await lading(["inspect", "--raw", `oci-archive:${out}`, "--store", store]);
  assert.equal(JSON.parse(raw.stdout).layers.length, report.layers);
  const imgs = await lading(["images", "--store", store]);
  assert.match(imgs.stdout, /hello:latest/);
});

test("a build error names file:line, exits 1, and writes no output file", async () => {
  const ctx = join(t.path, "badctx");
  mkdirSync(ctx);
  writeFileSync(join(ctx, "Containerfile"), "FROM scratch\nENV A=1\nCOPY missing.txt /x\n");
  const out = join(t.path, "bad.tar");
  const r = await lading(["build", "-o", out, "--store", store, ctx]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Containerfile:3/);
  assert.ok(!existsSync(out));
  assert.deepEqual(readdirSync(t.path).filter((n) => n.startsWith(".bad.tar")), []);
});

test("rmi removes a name; removing a missing one fails", async () => {
  const r = await lading(["rmi", "hello:latest", "--store", store]);
  assert.equal(r.code, 0, r.stderr);
  const again = await lading(["rmi", "hello:latest", "--store", store]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /no such image/);
});

test("inspect shows an index with no image for this machine as its table; --raw and --platform of a missing one still fail", async () => {
  const ctx = join(t.path, "foreign");
  mkdirSync(ctx);
  writeFileSync(join(ctx, "Containerfile"), "FROM scratch\nCOPY a /a\n");
  writeFileSync(join(ctx, "a"), "a\n");
  // Neither is this machine's, whatever it is (no RUN: nothing is emulated).
  const b = await lading(["build", "--store", store, "--platform", "linux/s390x,linux/ppc64le", "-t", "foreign:1", ctx]);
  assert.equal(b.code, 0, b.stderr);
  const shown = await lading(["inspect", "--store", store, "foreign:1"]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /^Digest: +sha256:/m);
  assert.match(shown.stdout, /^linux\/s390x +sha256:[0-9a-f]{64}/m);
  assert.match(shown.stdout, /^linux\/ppc64le +sha256:[0-9a-f]{64}/m);
  const raw = await lading(["inspect", "--raw", "--store", store, "foreign:1"]);
  assert.equal(raw.code, 1);
  assert.match(raw.stderr, /has no image for platform .* \(it has: linux\/s390x, linux\/ppc64le\)/);
  const one = await lading(["inspect", "--store", store, "--platform", "linux/ppc64le", "foreign:1"]);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(JSON.parse(one.stdout).Platform, "linux/ppc64le");
});
