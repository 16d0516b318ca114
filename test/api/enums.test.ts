// The scoped enum values (issue 15, as Dagger's TS SDK exports them) mean
// what the plain strings mean: the same digests, the same files; Dagger's
// spellings and lading's earlier ones both work; EStarGZ and misspellings
// are refused at the call, before anything is written.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  connect,
  LadingError,
  CacheSharingMode,
  ExistsType,
  ImageLayerCompression,
  ImageMediaTypes,
  NetworkProtocol,
  ReturnType,
  type Client,
  type ImageMediaTypes as ImageMediaTypesType,
} from "../../src/index.js";
import { makeBusyboxLayout, type TestImage } from "../helpers/images.js";
import { tempDir } from "../helpers/tmp.js";
import { run } from "../helpers/tools.js";

const t = tempDir("lading-enums-");
let busybox: TestImage;
let client: Client;

before(async () => {
  busybox = await makeBusyboxLayout(join(t.path, "busybox"));
  client = await connect({ store: join(t.path, "store") });
});
after(async () => {
  await client?.close();
  t.cleanup();
});

function code(c: string) {
  return (e: unknown) => e instanceof LadingError && e.code === c;
}

test("the values are Dagger's strings, and the objects cannot be changed", () => {
  assert.deepEqual({ ...ReturnType }, { Any: "ANY", Failure: "FAILURE", Success: "SUCCESS" });
  assert.deepEqual({ ...CacheSharingMode }, { Locked: "LOCKED", Private: "PRIVATE", Shared: "SHARED" });
  assert.deepEqual({ ...NetworkProtocol }, { Tcp: "TCP", Udp: "UDP" });
  assert.deepEqual({ ...ImageMediaTypes }, { Dockermediatypes: "DockerMediaTypes", Ocimediatypes: "OCIMediaTypes" });
  assert.deepEqual({ ...ImageLayerCompression }, { Estargz: "EStarGZ", Gzip: "Gzip", Uncompressed: "Uncompressed", Zstd: "Zstd" });
  assert.deepEqual({ ...ExistsType }, { DirectoryType: "DIRECTORY_TYPE", RegularType: "REGULAR_TYPE", SymlinkType: "SYMLINK_TYPE" });
  assert.throws(() => {
    (ReturnType as { Any: string }).Any = "x";
  }, TypeError);
});

test("ImageMediaTypes.Ocimediatypes / .Dockermediatypes give the digests \"OCI\" / \"Docker\" give, and the media types they name", async () => {
  const c = client.container().from(busybox.ref).withNewFile("/m.txt", "m");
  const digest = (mediaTypes: ImageMediaTypesType) => c.digest({ mediaTypes });
  const oci = await digest(ImageMediaTypes.Ocimediatypes);
  const docker = await digest(ImageMediaTypes.Dockermediatypes);
  assert.equal(await digest("OCI"), oci);
  assert.equal(await digest("Docker"), docker);
  assert.notEqual(oci, docker);
  const out = join(t.path, "docker.tar");
  await c.export(out, { mediaTypes: ImageMediaTypes.Dockermediatypes, tag: "d" });
  const raw = JSON.parse(run("skopeo", ["inspect", "--raw", `oci-archive:${out}`]));
  assert.equal(raw.mediaType, "application/vnd.docker.distribution.manifest.v2+json");
});

test("connect takes the enum values for compression and mediaTypes: new layers are uncompressed, the manifest docker's", async () => {
  const c2 = await connect({ store: join(t.path, "store"), compression: ImageLayerCompression.Uncompressed, mediaTypes: ImageMediaTypes.Dockermediatypes });
  try {
    const out = join(t.path, "uncompressed.tar");
    await c2.container().from(busybox.ref).withNewFile("/u.txt", "u").export(out, { tag: "u" });
    const raw = JSON.parse(run("skopeo", ["inspect", "--raw", `oci-archive:${out}`]));
    assert.equal(raw.mediaType, "application/vnd.docker.distribution.manifest.v2+json");
    assert.equal(raw.layers.at(-1).mediaType, "application/vnd.docker.image.rootfs.diff.tar");
  } finally {
    await c2.close();
  }
});

test("forcedCompression ImageLayerCompression.Zstd re-encodes as \"Zstd\" does", async () => {
  const c = client.container().from(busybox.ref).withNewFile("/z.txt", "z");
  assert.equal(await c.digest({ forcedCompression: ImageLayerCompression.Zstd }), await c.digest({ forcedCompression: "Zstd" }));
  assert.notEqual(await c.digest({ forcedCompression: ImageLayerCompression.Zstd }), await c.digest());
});

test("ImageLayerCompression.Estargz is refused (UNSUPPORTED) wherever a compression is taken, and nothing is written", async () => {
  const c = client.container().from(busybox.ref).withNewFile("/e.txt", "e");
  const out = join(t.path, "estargz.tar");
  await assert.rejects(c.export(out, { forcedCompression: ImageLayerCompression.Estargz }), (e: unknown) => {
    assert.ok(e instanceof LadingError && e.code === "UNSUPPORTED", String(e));
    assert.match(e.message, /EStarGZ.*not supported yet.*"Gzip", "Zstd" or "Uncompressed"/);
    return true;
  });
  assert.equal(existsSync(out), false);
  assert.throws(() => c.asTarball({ forcedCompression: "EStarGZ" }), code("UNSUPPORTED"));
  await assert.rejects(c.publish("127.0.0.1:1/x:1", { forcedCompression: ImageLayerCompression.Estargz }), code("UNSUPPORTED"));
  const store = join(t.path, "estargz-store");
  await assert.rejects(connect({ store, compression: ImageLayerCompression.Estargz }), code("UNSUPPORTED"));
  assert.equal(existsSync(store), false);
});

test("a value outside a set fails at the call with the choices named (a misspelt string, which TypeScript would catch, from JavaScript)", async () => {
  const c = client.container().from(busybox.ref);
  const loose = (v: string) => v as never;
  assert.throws(() => c.withMountedCache("/cache", client.cacheVolume("v"), { sharing: loose("locked") }), (e: unknown) => {
    assert.ok(e instanceof LadingError && e.code === "INVALID_ARGUMENT");
    assert.match(e.message, /invalid sharing "locked": use "LOCKED", "PRIVATE", "SHARED"/);
    return true;
  });
  assert.throws(() => c.withExec(["true"], { expect: loose("any") }), code("INVALID_ARGUMENT"));
  await assert.rejects(c.digest({ mediaTypes: loose("oci") }), (e: unknown) => e instanceof LadingError && e.code === "INVALID_ARGUMENT" && /"OCIMediaTypes"/.test(e.message));
  await assert.rejects(c.digest({ forcedCompression: loose("gzip") }), code("INVALID_ARGUMENT"));
  await assert.rejects(client.directory().exists("x", { expectedType: loose("FILE") }), code("INVALID_ARGUMENT"));
});

test("ExistsType's values and lading's earlier spellings check the same kinds", async () => {
  const dir = client.directory().withNewFile("f", "x").withNewDirectory("d");
  for (const [path, kind, old] of [["f", ExistsType.RegularType, "REGULAR"], ["d", ExistsType.DirectoryType, "DIRECTORY"]] as const) {
    assert.equal(await dir.exists(path, { expectedType: kind }), true, `${path} ${kind}`);
    assert.equal(await dir.exists(path, { expectedType: old }), true, `${path} ${old}`);
    assert.equal(await dir.exists(path, { expectedType: ExistsType.SymlinkType }), false);
  }
  assert.equal(await dir.exists("", { expectedType: ExistsType.DirectoryType }), true);
  assert.equal(await dir.exists("f", { expectedType: ExistsType.DirectoryType }), false);
});

test("withExposedPort takes NetworkProtocol.Udp as \"UDP\"", async () => {
  const c = client.container().from(busybox.ref);
  assert.deepEqual(await c.withExposedPort(53, { protocol: NetworkProtocol.Udp }).exposedPorts(), await c.withExposedPort(53, { protocol: "UDP" }).exposedPorts());
  const out = join(t.path, "ports.tar");
  await c.withExposedPort(53, { protocol: NetworkProtocol.Udp }).export(out, { tag: "p" });
  const cfg = JSON.parse(run("skopeo", ["inspect", "--config", `oci-archive:${out}`]));
  assert.deepEqual(Object.keys(cfg.config.ExposedPorts), ["53/udp"]);
});
