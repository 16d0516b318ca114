/**
 * The README's promise, as a user meets it: "a digest-pinned image already
 * in the store is used without a single request", and a tag pinned in
 * lading.lock or in the store likewise. The registry sits behind a proxy
 * that counts TCP connections; once the image is pulled the registry is
 * stopped, so any request would also fail the command.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "../../src/index.js";
import { lading } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { makeBusyboxLayout } from "../helpers/images.js";
import { startRegistry, type RegistryHandle } from "../helpers/registry.js";
import { run } from "../helpers/tools.js";
import { startProxy, type ProxyHandle } from "../registry/proxy.js";
import { userEnv } from "./user-env.js";

const t = tempDir("lading-offline-");
const { env } = userEnv(t.path);
let reg: RegistryHandle;
/** The test stops the registry itself; stop() must not run twice (a second kill finds no process). */
let regStopped = false;
let proxy: ProxyHandle;
let digest: string;
/** The registry as the user names it: through the counting proxy. */
let host: string;

before(async () => {
  reg = await startRegistry();
  proxy = await startProxy(reg.host);
  host = proxy.host;
  const base = await makeBusyboxLayout(join(t.path, "base"), "latest");
  run("skopeo", ["copy", "--dest-tls-verify=false", `oci:${base.dir}:latest`, `docker://${reg.host}/x:1`]);
  digest = base.manifestDigest;
});
after(async () => {
  await proxy?.stop();
  if (!regStopped) await reg?.stop();
  t.cleanup();
});

function context(name: string, containerfile: string): string {
  const dir = join(t.path, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "Containerfile"), containerfile);
  return dir;
}

test("a digest-pinned image, a lading.lock pin and a store pin: pulled once, then used with the registry gone and no connection made", async () => {
  const store = join(t.path, "store");
  const byDigest = `${host}/x@${digest}`;
  const pulled = await lading(["pull", "--progress", "quiet", "--store", store, byDigest], { env });
  assert.equal(pulled.code, 0, pulled.stderr);
  assert.equal(pulled.stdout.trim(), digest);
  assert.ok(proxy.connections > 0, "the first pull goes through the proxy");

  // While the registry is up: a build FROM the tag records its pin in lading.lock (and in the store).
  const tagCtx = context("tag", `FROM ${host}/x:1\nRUN echo tagged > /t\n`);
  const tagged = await lading(["build", "--progress", "quiet", "--store", store, tagCtx], { env });
  assert.equal(tagged.code, 0, tagged.stderr);
  const digestCtx = context("digest", `FROM ${byDigest}\nRUN echo pinned > /p\n`);

  await reg.stop();
  regStopped = true;
  const before = proxy.connections;

  // (a) the library: from(name@sha256) gives the pulled image, exported byte for byte.
  const client = await connect({ store });
  try {
    const image = client.container().from(byDigest);
    assert.equal(await image.digest(), digest);
    const out = join(t.path, "a.tar");
    await image.export(out);
    assert.equal(JSON.parse(run("skopeo", ["inspect", `oci-archive:${out}`])).Digest, digest);
  } finally {
    await client.close();
  }

  // (b) the CLI: FROM name@sha256, under every pull policy (a digest cannot move, so "always" has nothing to ask).
  let built: string | undefined;
  for (const pull of ["missing", "always", "never"]) {
    const r = await lading(["build", "--progress", "quiet", "--pull", pull, "--store", store, digestCtx], { env });
    assert.equal(r.code, 0, `--pull ${pull}: ${r.stderr}`);
    built ??= r.stdout.trim();
    assert.equal(r.stdout.trim(), built);
  }

  // (c) a tag: lading.lock's pin turns it into its digest, even under --pull always; without the lock the store's pin serves missing and never.
  for (const args of [["--pull", "always"], ["--lock", "off", "--pull", "missing"], ["--lock", "off", "--pull", "never"]]) {
    const r = await lading(["build", "--progress", "quiet", ...args, "--store", store, tagCtx], { env });
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stdout.trim(), tagged.stdout.trim(), args.join(" "));
  }
  assert.equal(proxy.connections, before, "no connection reached the registry's address");

  // The counter can see a request: "always" without a lock must ask the (now stopped) registry, and says so.
  const asks = await lading(["build", "--progress", "quiet", "--lock", "off", "--pull", "always", "--store", store, tagCtx], { env });
  assert.equal(asks.code, 1);
  assert.match(asks.stderr, new RegExp(`${host.replace(/\./g, "\\.")}`));
  assert.doesNotMatch(asks.stderr, /\n\s+at /);
  assert.ok(proxy.connections > before, "--pull always --lock off went to the registry");
});

test("--pull never on a tag the store has never seen: exit 1, says how to fix it, no connection", async () => {
  const store = join(t.path, "empty-store");
  const before = proxy.connections;
  const r = await lading(["build", "--progress", "quiet", "--pull", "never", "--store", store, context("never", `FROM ${host}/other:2\n`)], { env });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /other:2 is not in the store and the pull policy is "never"/);
  assert.match(r.stderr, /--pull=missing/);
  assert.equal(proxy.connections, before);
});
