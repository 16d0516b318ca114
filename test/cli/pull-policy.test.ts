/**
 * `lading build --pull missing|always|never` when the tag moves in the
 * registry (no lock file, so the store's pin is all that remembers it):
 * missing keeps the image it has, always follows the tag, never uses what
 * the last pull left and asks nothing.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lading } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { makeBusyboxLayout } from "../helpers/images.js";
import { startRegistry, type RegistryHandle } from "../helpers/registry.js";
import { run } from "../helpers/tools.js";
import { startProxy, type ProxyHandle } from "../registry/proxy.js";
import { userEnv } from "./user-env.js";

const t = tempDir("lading-pullpolicy-");
const { env } = userEnv(t.path);
let reg: RegistryHandle;
let proxy: ProxyHandle;
before(async () => {
  reg = await startRegistry();
  proxy = await startProxy(reg.host);
});
after(async () => {
  await proxy?.stop();
  await reg?.stop();
  t.cleanup();
});

test("a moved tag: --pull missing keeps the pinned image, always follows the tag, never reuses the last pull without a connection", async () => {
  const base = await makeBusyboxLayout(join(t.path, "base"), "latest");
  run("skopeo", ["copy", "--dest-tls-verify=false", `oci:${base.dir}:latest`, `docker://${reg.host}/base:1`]);
  const ctx = join(t.path, "ctx");
  mkdirSync(ctx);
  writeFileSync(join(ctx, "Containerfile"), `FROM ${proxy.host}/base:1\nRUN echo app > /app\n`);
  const store = join(t.path, "store");
  const build = async (pull: string) => {
    const r = await lading(["build", "--progress", "quiet", "--lock", "off", "--pull", pull, "--store", store, ctx], { env });
    assert.equal(r.code, 0, `--pull ${pull}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const first = await build("missing");

  // Move the tag: base:1 becomes the app image (built in another store and pushed over it).
  const tagged = await lading(["build", "--progress", "quiet", "--lock", "off", "-t", `${reg.host}/base:1`, "--push", "--store", join(t.path, "other-store"), ctx], { env });
  assert.equal(tagged.code, 0, tagged.stderr);

  const connections = proxy.connections;
  assert.equal(await build("missing"), first, "missing: the pinned image, with no request");
  assert.equal(await build("never"), first);
  assert.equal(proxy.connections, connections);
  const moved = await build("always");
  assert.notEqual(moved, first, "always: the tag's new image");
  assert.ok(proxy.connections > connections);
  const after = proxy.connections;
  assert.equal(await build("never"), moved, "never: the image the last pull left");
  assert.equal(await build("missing"), moved);
  assert.equal(proxy.connections, after);
});
