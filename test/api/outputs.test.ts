import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type Client, type ProgressEvent } from "../../src/index.js";
import { makeBusyboxLayout, type TestImage } from "../helpers/images.js";
import { tempDir } from "../helpers/tmp.js";
import { validateArchive } from "../helpers/validate.js";
import { run } from "../helpers/tools.js";

const t = tempDir("lading-out-");
let busybox: TestImage;
let client: Client;
const events: ProgressEvent[] = [];

before(async () => {
  busybox = await makeBusyboxLayout(join(t.path, "busybox"));
  client = await connect({ store: join(t.path, "store"), log: (e) => events.push(e) });
});
after(async () => {
  await client?.close();
  t.cleanup();
});

function umociUnpack(layoutDir: string, tag: string, bundle: string): string {
  run("umoci", ["unpack", ...(process.getuid?.() === 0 ? [] : ["--rootless"]), "--image", `${layoutDir}:${tag}`, bundle]);
  return join(bundle, "rootfs");
}

for (const forcedCompression of ["Zstd", "Uncompressed", "Gzip"] as const) {
  test(`forcedCompression ${forcedCompression}: layers re-encoded, same diff_ids, readers accept it`, async () => {
    const c = client.container().from(busybox.ref).withNewFile("/f.txt", forcedCompression);
    const out = join(t.path, `fc-${forcedCompression}.tar`);
    await c.export(out, { forcedCompression, tag: "fc" });
    const dir = join(t.path, `fc-${forcedCompression}`);
    await validateArchive(out, dir);
    const raw = JSON.parse(run("skopeo", ["inspect", "--raw", `oci-archive:${out}`]));
    const want = { Zstd: "tar+zstd", Uncompressed: "tar", Gzip: "tar+gzip" }[forcedCompression];
    for (const l of raw.layers) assert.ok(l.mediaType.endsWith(want), l.mediaType);
    if (forcedCompression !== "Zstd") {
      // umoci 0.4 here reads gzip and plain tar layers
      const rootfs = umociUnpack(dir, "fc", join(t.path, `fc-${forcedCompression}-bundle`));
      assert.equal(readFileSync(join(rootfs, "f.txt"), "utf8"), forcedCompression);
    }
  });
}

test("mediaTypes Docker: docker schema2 manifest and config types; skopeo and podman read it", async () => {
  const c = client.container().from(busybox.ref).withNewFile("/d.txt", "docker");
  const out = join(t.path, "docker.tar");
  await c.export(out, { mediaTypes: "Docker", tag: "dockerish:1" });
  const raw = JSON.parse(run("skopeo", ["inspect", "--raw", `oci-archive:${out}`]));
  assert.equal(raw.mediaType, "application/vnd.docker.distribution.manifest.v2+json");
  assert.equal(raw.config.mediaType, "application/vnd.docker.container.image.v1+json");
  for (const l of raw.layers) assert.equal(l.mediaType, "application/vnd.docker.image.rootfs.diff.tar.gzip");
  // docker-archive: transport reads the manifest.json lading also writes
  const viaDocker = JSON.parse(run("skopeo", ["inspect", `docker-archive:${out}`]));
  assert.equal(viaDocker.Layers.length, 2);
});

test("platformVariants: an index with one manifest per platform", async () => {
  const amd = client.container({ platform: "linux/amd64" }).withNewFile("/arch", "amd64");
  const arm = client.container({ platform: "linux/arm64" }).withNewFile("/arch", "arm64");
  const out = join(t.path, "multi.tar");
  await amd.export(out, { platformVariants: [arm], tag: "multi" });
  const dir = join(t.path, "multi");
  const report = await validateArchive(out, dir);
  assert.equal(report.manifests, 2);
  const idx = JSON.parse(run("skopeo", ["inspect", "--raw", `oci-archive:${out}`]));
  assert.equal(idx.mediaType, "application/vnd.oci.image.index.v1+json");
  assert.deepEqual(idx.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture).sort(), ["amd64", "arm64"]);
  await assert.rejects(amd.export(join(t.path, "dup.tar"), { platformVariants: [amd] }), /both for linux\/amd64/);
});

test("tag() and digest() with platformVariants: the store name is the index, and from() of it picks each platform's manifest", async () => {
  const amd = client.container({ platform: "linux/amd64" }).withNewFile("/arch", "amd64");
  const arm = client.container({ platform: "linux/arm64" }).withNewFile("/arch", "arm64");
  const index = await amd.tag("multi-tagged:1", { platformVariants: [arm] });
  assert.equal(await amd.digest({ platformVariants: [arm] }), index);
  assert.notEqual(index, await amd.digest());
  assert.equal(JSON.parse(run("skopeo", ["inspect", "--raw", `oci:${client.storePath}:docker.io/library/multi-tagged:1`])).manifests.length, 2);
  for (const arch of ["amd64", "arm64"]) {
    const picked = client.container({ platform: `linux/${arch}` }).from("multi-tagged:1");
    assert.equal(await picked.file("/arch").contents(), arch);
    assert.equal(await picked.platform(), `linux/${arch}`);
  }
  await assert.rejects(client.container({ platform: "linux/s390x" }).from("multi-tagged:1").sync(), /has no image for platform linux\/s390x \(it has: linux\/amd64, linux\/arm64\)/);
});

test("identical sub-graphs are computed once, independent branches both land", async () => {
  events.length = 0;
  const shared = client.container().from(busybox.ref).withNewFile("/shared", `shared-${Date.now()}`);
  const a = shared.withNewFile("/a", "a");
  const b = shared.withNewFile("/b", "b");
  // Built from separately constructed (but identical) values: the same step is still written once.
  const shared2 = client.container().from(busybox.ref).withNewFile("/shared", await shared.file("/shared").contents());
  const [da, db, dc] = await Promise.all([a.digest(), b.digest(), shared2.withNewFile("/c", "c").digest()]);
  assert.equal(new Set([da, db, dc]).size, 3);
  const sharedDone = events.filter((e) => e.type === "step" && e.name === "withNewFile /shared" && e.status === "done");
  assert.equal(sharedDone.length, 1);
});

test("the image created date follows SOURCE_DATE_EPOCH", async () => {
  const c2 = await connect({ store: join(t.path, "store"), sourceDateEpoch: 1_700_000_000 });
  try {
    const c = c2.container().from(busybox.ref).withNewFile("/e", "e");
    const i = await c2.inspectImage(`oci-archive:${await c.export(join(t.path, "sde.tar"))}`);
    assert.equal(i.config.created, "2023-11-14T22:13:20Z");
  } finally {
    await c2.close();
  }
});

test("an export cancelled while it writes a blob fails as cancelled and leaves no file", async () => {
  const { randomBytes } = await import("node:crypto");
  const { mkdirSync, writeFileSync, existsSync, readdirSync, statSync } = await import("node:fs");
  const src = join(t.path, "cancel-src");
  mkdirSync(src);
  for (let i = 0; i < 4; i++) writeFileSync(join(src, `r${i}.bin`), randomBytes(32 << 20));
  const ac = new AbortController();
  const c2 = await connect({ store: join(t.path, "store"), signal: ac.signal });
  try {
    const c = c2.container().withDirectory("/data", c2.host().directory(src));
    await c.sync();
    const out = join(t.path, "cancelled.tar");
    // Cancel once the archive's temp file has grown past its first blob's start.
    const watch = setInterval(() => {
      const tmp = readdirSync(t.path).find((n) => n.startsWith(".cancelled.tar."));
      if (tmp && statSync(join(t.path, tmp), { throwIfNoEntry: false })?.size! > 1 << 20) ac.abort(new Error("cancelled by the test"));
    }, 1);
    try {
      await assert.rejects(c.export(out), (e: unknown) => (e as { code?: string }).code === "CANCELLED" || /cancel|abort/i.test(String((e as Error).message)));
    } finally {
      clearInterval(watch);
    }
    assert.ok(ac.signal.aborted, "the export finished before it could be cancelled");
    assert.ok(!existsSync(out));
    assert.deepEqual(readdirSync(t.path).filter((n) => n.includes("cancelled.tar")), []);
  } finally {
    await c2.close();
  }
});
