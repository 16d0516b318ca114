// `lading push oci:DIR:TAG REF` uploads straight from the layout (issue 17):
// the registry gets exactly the layout's image, the store keeps only its
// manifest and config, and a corrupt blob in the layout fails the push with
// a clear error and leaves nothing in the registry.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { closeSync, cpSync, existsSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { lading } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { makeBusyboxLayout, type TestImage } from "../helpers/images.js";
import { startRegistry, type RegistryHandle } from "../helpers/registry.js";
import { run } from "../helpers/tools.js";

const t = tempDir("lading-push-layout-");
let reg: RegistryHandle;
let img: TestImage;
let manifest: { config: { digest: string }; layers: Array<{ digest: string; size: number }> };

before(async () => {
  reg = await startRegistry();
  img = await makeBusyboxLayout(join(t.path, "layout"), "v1");
  manifest = JSON.parse(readFileSync(join(img.dir, "blobs", "sha256", img.manifestDigest.slice(7)), "utf8"));
});
after(async () => {
  await reg?.stop();
  t.cleanup();
});

const blobIn = (dir: string, digest: string) => join(dir, "blobs", "sha256", digest.slice(7));
async function registryHas(repo: string, what: string): Promise<boolean> {
  const res = await fetch(`http://${reg.host}/v2/${repo}/${what}`, { method: "HEAD" });
  return res.status === 200;
}

test("push oci:DIR:TAG sends the layout's image as it is and copies no layer into the store", async () => {
  const store = join(t.path, "store");
  const r = await lading(["push", "--progress", "plain", "--store", store, "--insecure-registry", reg.host, img.ref, `${reg.host}/layout/ok:1`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), `${reg.host}/layout/ok:1@${img.manifestDigest}`);
  // skopeo checks every blob against its digest on the way back.
  const back = JSON.parse(run("skopeo", ["inspect", "--tls-verify=false", "--raw", `docker://${reg.host}/layout/ok:1`]));
  assert.deepEqual(back.layers.map((l: { digest: string }) => l.digest), manifest.layers.map((l) => l.digest));
  run("skopeo", ["copy", "-q", "--src-tls-verify=false", `docker://${reg.host}/layout/ok:1`, `oci:${join(t.path, "back")}:1`]);
  for (const l of manifest.layers) assert.deepEqual(readFileSync(blobIn(join(t.path, "back"), l.digest)), readFileSync(blobIn(img.dir, l.digest)));
  // The store holds what names the push (manifest, config), not the layers.
  assert.ok(existsSync(blobIn(store, img.manifestDigest)));
  assert.ok(existsSync(blobIn(store, manifest.config.digest)));
  for (const l of manifest.layers) assert.ok(!existsSync(blobIn(store, l.digest)), `layer ${l.digest} was copied into the store`);

  // Again, everything already there: the same answer.
  const again = await lading(["push", "--progress", "plain", "--store", store, "--insecure-registry", reg.host, img.ref, `${reg.host}/layout/ok:1`]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout.trim(), r.stdout.trim());
});

test("a corrupt layer in the layout fails the push, names the blob, and the registry gets neither it nor the manifest", async () => {
  const bad = join(t.path, "bad");
  cpSync(img.dir, bad, { recursive: true });
  const layer = manifest.layers[0]!;
  // Same size, one byte changed, half-way: only a hash can tell.
  const fd = openSync(blobIn(bad, layer.digest), "r+");
  const at = Math.floor(layer.size / 2);
  const byte = Buffer.alloc(1);
  readSync(fd, byte, 0, 1, at);
  writeSync(fd, Buffer.from([byte[0]! ^ 0xff]), 0, 1, at);
  closeSync(fd);
  const r = await lading(["push", "--progress", "plain", "--store", join(t.path, "store-bad"), "--insecure-registry", reg.host, `oci:${bad}:v1`, `${reg.host}/layout/bad:1`]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`oci:${bad}: blob ${layer.digest} is corrupt \\(its bytes hash to sha256:[0-9a-f]{64}\\)`));
  assert.equal(await registryHas("layout/bad", `blobs/${layer.digest}`), false, "the corrupt layer reached the registry");
  assert.equal(await registryHas("layout/bad", "manifests/1"), false, "the manifest was pushed");
});

test("a layer missing from the layout fails the push before anything is sent", async () => {
  const gone = join(t.path, "gone");
  cpSync(img.dir, gone, { recursive: true });
  rmSync(blobIn(gone, manifest.layers[0]!.digest));
  const r = await lading(["push", "--progress", "plain", "--store", join(t.path, "store-gone"), "--insecure-registry", reg.host, `oci:${gone}:v1`, `${reg.host}/layout/gone:1`]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`blob ${manifest.layers[0]!.digest} is referenced but missing`));
  assert.equal(await registryHas("layout/gone", "manifests/1"), false);
});

test("a corrupt config in the layout fails the push, names the blob, and neither the registry nor the store gets it", async () => {
  const bad = join(t.path, "bad-config");
  cpSync(img.dir, bad, { recursive: true });
  const cfg = blobIn(bad, manifest.config.digest);
  const text = readFileSync(cfg, "utf8");
  rmSync(cfg);
  // The same length, so only the hash can tell (the config is read into memory and stored while the push goes on).
  writeFileSync(cfg, text.replace("amd64", "AMD64"));
  const store = join(t.path, "store-bad-config");
  const r = await lading(["push", "--progress", "plain", "--store", store, "--insecure-registry", reg.host, `oci:${bad}:v1`, `${reg.host}/layout/badcfg:1`]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`oci:${bad}: blob ${manifest.config.digest} is corrupt \\(its bytes hash to sha256:[0-9a-f]{64}\\)`));
  assert.equal(await registryHas("layout/badcfg", `blobs/${manifest.config.digest}`), false, "the corrupt config reached the registry");
  assert.equal(await registryHas("layout/badcfg", "manifests/1"), false, "the manifest was pushed");
  assert.ok(!existsSync(blobIn(store, manifest.config.digest)), "the corrupt config was stored");
});
