// withAnnotation's values, read back by other tools from every way an image
// leaves lading: export(), asTarball(), publish(), for one image and for an
// index of platform variants (where each manifest's descriptor carries them
// too, as index.json's entry does for a single image).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type Client, type Container } from "../../src/index.js";
import { makeBusyboxLayout } from "../helpers/images.js";
import { startRegistry, type RegistryHandle } from "../helpers/registry.js";
import { tempDir } from "../helpers/tmp.js";
import { run } from "../helpers/tools.js";
import { validateArchive } from "../helpers/validate.js";

const t = tempDir("lading-annotations-");
let client: Client;
let registry: RegistryHandle;
let amd: Container;
let arm: Container;

const A = { "org.opencontainers.image.source": "https://example.com/repo", "com.example.note": "a value with spaces, ünïcode and = signs" };

before(async () => {
  const amdBase = await makeBusyboxLayout(join(t.path, "bb-amd64"), "bb", "amd64");
  const armBase = await makeBusyboxLayout(join(t.path, "bb-arm64"), "bb", "arm64");
  client = await connect({ store: join(t.path, "store") });
  registry = await startRegistry();
  const annotate = (c: Container, arch: string) => Object.entries(A).reduce((acc, [k, v]) => acc.withAnnotation(k, v), c).withAnnotation("com.example.arch", arch).withNewFile("/arch", arch);
  amd = annotate(client.container({ platform: "linux/amd64" }).from(amdBase.ref), "amd64");
  arm = annotate(client.container({ platform: "linux/arm64" }).from(armBase.ref), "arm64");
});
after(async () => {
  await client?.close();
  await registry?.stop();
  t.cleanup();
});

type Json = { mediaType?: string; annotations?: Record<string, string>; manifests?: Array<{ digest: string; annotations?: Record<string, string>; platform?: { architecture: string } }> };
const inspect = (ref: string, ...extra: string[]): Json => JSON.parse(run("skopeo", ["inspect", "--raw", ...extra, ref]));

function assertAnnotated(annotations: Record<string, string> | undefined, arch: string, where: string): void {
  assert.deepEqual(annotations, { ...A, "com.example.arch": arch }, where);
}

/** The archive's manifest (skopeo), its index.json entry and what oci-image-tool makes of it. */
async function checkSingleArchive(file: string, name: string): Promise<void> {
  const m = inspect(`oci-archive:${file}`);
  assert.equal(m.mediaType, "application/vnd.oci.image.manifest.v1+json");
  assertAnnotated(m.annotations, "amd64", "the manifest's annotations");
  const dir = join(t.path, name);
  await validateArchive(file, dir);
  const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as Json;
  assert.equal(index.manifests?.length, 1);
  const { "org.opencontainers.image.ref.name": _ref, ...rest } = index.manifests![0]!.annotations ?? {};
  assertAnnotated(rest, "amd64", "index.json's descriptor of the manifest");
  assert.match(run("oci-image-tool", ["validate", "--type", "image", "--ref", "platform.os=linux", dir]), /Validation succeeded/);
}

test("export(): the manifest and its index.json descriptor carry the annotations", async () => {
  const file = join(t.path, "export.tar");
  await amd.export(file, { tag: "one" });
  await checkSingleArchive(file, "export");
});

test("asTarball(): the same annotations, in the tarball's manifest and index.json", async () => {
  const file = join(t.path, "tarball.tar");
  await amd.asTarball().export(file);
  await checkSingleArchive(file, "tarball");
});

test("an annotated image read back and exported unchanged: its index.json descriptor carries the manifest's annotations", async () => {
  const first = join(t.path, "first.tar");
  await amd.export(first);
  const again = client.container({ platform: "linux/amd64" }).from(`oci-archive:${first}`);
  const file = join(t.path, "again.tar");
  await again.export(file, { tag: "again" });
  await checkSingleArchive(file, "again");
});

/** An index's descriptors and each manifest it names, as read through `get`. */
function checkIndex(index: Json, get: (digest: string) => Json): void {
  assert.equal(index.mediaType, "application/vnd.oci.image.index.v1+json");
  assert.equal(index.manifests?.length, 2);
  for (const d of index.manifests!) {
    const arch = d.platform!.architecture;
    assertAnnotated(d.annotations, arch, `the index's descriptor of the ${arch} manifest`);
    assertAnnotated(get(d.digest).annotations, arch, `the ${arch} manifest`);
  }
}

test("export() and asTarball() with platformVariants: each manifest and its descriptor in the index carry their annotations", async () => {
  for (const [name, write] of [
    ["multi-export", (f: string) => amd.export(f, { platformVariants: [arm] })],
    ["multi-tarball", (f: string) => amd.asTarball({ platformVariants: [arm] }).export(f)],
  ] as const) {
    const file = join(t.path, `${name}.tar`);
    await write(file);
    const dir = join(t.path, name);
    await validateArchive(file, dir);
    checkIndex(inspect(`oci-archive:${file}`), (digest) => JSON.parse(readFileSync(join(dir, "blobs", "sha256", digest.slice("sha256:".length)), "utf8")));
    assert.match(run("oci-image-tool", ["validate", "--type", "image", "--ref", "platform.os=linux", dir]), /Validation succeeded/);
  }
});

test("publish(): the registry serves the annotations, for one image and for an index", async () => {
  const one = await amd.publish(`${registry.host}/annotations/one:1`);
  assert.match(one, /@sha256:[0-9a-f]{64}$/);
  assertAnnotated(inspect(`docker://${registry.host}/annotations/one:1`, "--tls-verify=false").annotations, "amd64", "the pushed manifest");
  const byDigest = `${registry.host}/annotations/one@${one.split("@")[1]}`;
  assertAnnotated(inspect(`docker://${byDigest}`, "--tls-verify=false").annotations, "amd64", "the pushed manifest, by digest");

  await amd.publish(`${registry.host}/annotations/multi:1`, { platformVariants: [arm] });
  checkIndex(inspect(`docker://${registry.host}/annotations/multi:1`, "--tls-verify=false"), (digest) => inspect(`docker://${registry.host}/annotations/multi@${digest}`, "--tls-verify=false"));
});
