/**
 * A build arg declared without a default and not given expands to the empty
 * string, as in docker and buildah; the build says so once per name.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lading } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { run } from "../helpers/tools.js";

const t = tempDir("lading-empty-arg-");
after(() => t.cleanup());

test("lading build: ARG with no value builds, with one warning per name that names the line", async () => {
  const ctx = join(t.path, "ctx");
  mkdirSync(ctx);
  writeFileSync(join(ctx, "a.txt"), "a\n");
  writeFileSync(join(ctx, "Containerfile"), "FROM scratch\nARG FOO\nARG GIVEN\nENV FOO=${FOO} AGAIN=$FOO G=$GIVEN D=${FOO:-dflt}\nCOPY a${FOO}.txt /\n");
  const out = join(t.path, "layout");
  const r = await lading(["build", ctx, "--store", join(t.path, "store"), "--build-arg", "GIVEN=g", "--progress", "plain", "-o", `type=oci-layout,dest=${out},name=e`]);
  assert.equal(r.code, 0, r.stderr);
  const warnings = r.stderr.split("\n").filter((l) => l.startsWith("warning:"));
  assert.equal(warnings.length, 1, r.stderr);
  assert.match(warnings[0]!, /Containerfile:4: ENV: build arg FOO has no value .*expands to the empty string; pass --build-arg FOO=/);
  const cfg = JSON.parse(run("skopeo", ["inspect", "--config", `oci:${out}:e`])) as { config: { Env: string[] } };
  assert.deepEqual(cfg.config.Env.slice(1), ["FOO=", "AGAIN=", "G=g", "D=dflt"]);
});
