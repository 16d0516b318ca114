import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lading } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { makeBusyboxLayout } from "../helpers/images.js";
import { startRegistry, type RegistryHandle } from "../helpers/registry.js";
import { run } from "../helpers/tools.js";

const t = tempDir("lading-regbuild-");
let reg: RegistryHandle;
before(async () => {
  reg = await startRegistry();
});
after(async () => {
  await reg?.stop();
  t.cleanup();
});

test("FROM a registry tag: lading.lock pins it; auto keeps the pin, update moves it, frozen refuses unpinned sources; --push publishes", async () => {
  const base1 = await makeBusyboxLayout(join(t.path, "b1"), "latest");
  run("skopeo", ["copy", "--dest-tls-verify=false", `oci:${base1.dir}:latest`, `docker://${reg.host}/base:1`]);
  const ctx = join(t.path, "ctx");
  mkdirSync(ctx);
  writeFileSync(join(ctx, "Containerfile"), `FROM ${reg.host}/base:1\nCOPY a.txt /a.txt\n`);
  writeFileSync(join(ctx, "a.txt"), "a");
  const store = join(t.path, "store");
  const first = await lading(["build", "--store", store, "-t", `${reg.host}/app:1`, "--push", ctx]);
  assert.equal(first.code, 0, first.stderr);
  const lockPath = join(ctx, "lading.lock");
  const lock = JSON.parse(readFileSync(lockPath, "utf8"));
  assert.equal(lock.sources[`${reg.host}/base:1`], base1.manifestDigest);
  const pushed = JSON.parse(run("skopeo", ["inspect", "--tls-verify=false", `docker://${reg.host}/app:1`]));
  assert.equal(pushed.Digest, first.stdout.trim());

  // The tag moves in the registry (to the app image): auto keeps using the pinned digest.
  run("skopeo", ["copy", "--src-tls-verify=false", "--dest-tls-verify=false", `docker://${reg.host}/app:1`, `docker://${reg.host}/base:1`]);
  const again = await lading(["build", "--store", store, ctx]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout.trim(), first.stdout.trim());
  assert.equal(JSON.parse(readFileSync(lockPath, "utf8")).sources[`${reg.host}/base:1`], base1.manifestDigest);

  // update re-resolves: the new base gives a new image and a new pin.
  const updated = await lading(["build", "--store", store, "--lock", "update", ctx]);
  assert.equal(updated.code, 0, updated.stderr);
  assert.notEqual(updated.stdout.trim(), first.stdout.trim());
  assert.equal(JSON.parse(readFileSync(lockPath, "utf8")).sources[`${reg.host}/base:1`], first.stdout.trim());

  // frozen: a source the lock does not know is refused.
  writeFileSync(join(ctx, "Containerfile"), `FROM ${reg.host}/base:1\nFROM ${reg.host}/other:2\nCOPY a.txt /a.txt\n`);
  const frozen = await lading(["build", "--store", store, "--lock", "frozen", ctx]);
  assert.equal(frozen.code, 1);
  assert.match(frozen.stderr, /no pin in the lock file/);
  assert.ok(existsSync(lockPath));
});
