import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { Store } from "../../src/store/store.js";
import { sha256 } from "../../src/oci/digest.js";
import { LadingError } from "../../src/errors.js";
import { tempDir } from "../helpers/tmp.js";
import { validateJson } from "../helpers/validate.js";

const t = tempDir("lading-store-");
after(t.cleanup);

test("a new store is a valid OCI layout", async () => {
  const s = await Store.open(join(t.path, "s1"));
  validateJson("layout", JSON.parse(readFileSync(join(s.root, "oci-layout"), "utf8")));
  validateJson("index", JSON.parse(readFileSync(join(s.root, "index.json"), "utf8")));
});

test("a new store opened by many at once gets one index, never replaced: a name tagged meanwhile survives the other opens", async () => {
  const root = join(t.path, "s-race");
  const first = await Store.open(root);
  const d = await first.putJson({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: {}, layers: [] });
  await first.tag("kept", { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: d.digest, size: d.size });
  const racing = join(t.path, "s-race-2");
  const opened = await Promise.all(Array.from({ length: 8 }, () => Store.open(racing)));
  assert.equal(opened.filter((s) => s.fresh).length >= 1, true, "one of the opens made the store");
  validateJson("index", JSON.parse(readFileSync(join(racing, "index.json"), "utf8")));
  // Opening again (the file exists) leaves the tag in place, and no temp file is left beside the index.
  await Promise.all(Array.from({ length: 4 }, () => Store.open(root)));
  assert.equal((await Store.open(root)).fresh, false);
  assert.deepEqual((await first.listNames()).map((n) => n.name), ["kept"]);
  assert.deepEqual(readdirSync(root).filter((n) => n.endsWith(".tmp")), []);
  assert.deepEqual(readdirSync(racing).filter((n) => n.endsWith(".tmp")), []);
});

test("putBlob hashes while writing; the file is named by its digest and holds those bytes", async () => {
  const s = await Store.open(join(t.path, "s2"));
  const data = Buffer.from("hello blob");
  const info = await s.putBlob(Readable.from([data.subarray(0, 3), data.subarray(3)]));
  assert.equal(info.digest, sha256(data));
  assert.equal(info.size, data.length);
  assert.deepEqual(readFileSync(s.blobPath(info.digest)), data);
  // idempotent
  assert.deepEqual(await s.putBlob(data), info);
});

test("a blob that does not match its expected digest or size is refused and nothing is left", async () => {
  const s = await Store.open(join(t.path, "s3"));
  const wrong = sha256("something else");
  await assert.rejects(s.putBlob(Readable.from([Buffer.from("abc")]), { digest: wrong }), (e: unknown) => e instanceof LadingError && e.code === "DIGEST_MISMATCH");
  await assert.rejects(s.putBlob(Readable.from([Buffer.from("abc")]), { size: 4 }), (e: unknown) => e instanceof LadingError && e.code === "DIGEST_MISMATCH");
  assert.deepEqual(readdirSync(join(s.root, "blobs", "sha256")), []);
  assert.deepEqual(readdirSync(join(s.root, "lading", "tmp")), []);
});

test("a failing source stream leaves no partial blob", async () => {
  const s = await Store.open(join(t.path, "s4"));
  const src = new Readable({
    read() {
      this.push(Buffer.alloc(1024, 1));
      this.destroy(new Error("source broke"));
    },
  });
  await assert.rejects(s.putBlob(src));
  assert.deepEqual(readdirSync(join(s.root, "blobs", "sha256")), []);
  assert.deepEqual(readdirSync(join(s.root, "lading", "tmp")), []);
});

test("reads verify: a corrupted blob is reported, not returned", async () => {
  const s = await Store.open(join(t.path, "s5"));
  const info = await s.putBlob("original");
  const p = s.blobPath(info.digest);
  const { chmodSync } = await import("node:fs");
  chmodSync(p, 0o644);
  writeFileSync(p, "tampered");
  await assert.rejects(s.readBlob(info.digest), (e: unknown) => e instanceof LadingError && e.code === "DIGEST_MISMATCH");
  const chunks: Buffer[] = [];
  await assert.rejects(
    (async () => {
      for await (const c of s.openBlob(info.digest, { verify: true })) chunks.push(c as Buffer);
    })(),
    (e: unknown) => e instanceof LadingError && e.code === "DIGEST_MISMATCH",
  );
});

test("several processes share one store: same blob from 4 writers, 4 tags under the index lock", async () => {
  const dir = join(t.path, "shared");
  await Store.open(dir);
  const script = join(t.path, "writer.mjs");
  const storeModule = new URL("../../src/store/store.js", import.meta.url).href;
  writeFileSync(
    script,
    `import { Store } from ${JSON.stringify(storeModule)};
const s = await Store.open(process.argv[2]);
const n = process.argv[3];
const big = Buffer.alloc(4 << 20, 7);
const info = await s.putBlob(big);
const m = await s.putJson({ schemaVersion: 2, n });
await s.tag("img-" + n, { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: m.digest, size: m.size });
console.log(info.digest);`,
  );
  const runOne = (n: number) =>
    new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [script, dir, String(n)], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (c) => (out += c));
      child.stderr.on("data", (c) => (err += c));
      child.on("close", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`writer ${n} failed: ${err}`))));
    });
  const digests = await Promise.all([1, 2, 3, 4].map(runOne));
  assert.equal(new Set(digests).size, 1);
  const s = await Store.open(dir);
  const names = (await s.listNames()).map((x) => x.name).sort();
  assert.deepEqual(names, ["img-1", "img-2", "img-3", "img-4"]);
  assert.equal(sha256(readFileSync(s.blobPath(digests[0] as `sha256:${string}`))), digests[0]);
  void fileURLToPath;
});

test("op cache and pins survive reopening", async () => {
  const dir = join(t.path, "s6");
  const s = await Store.open(dir);
  const key = sha256("op");
  await s.putCached(key, { layer: "x" });
  await s.setPin("docker.io/library/alpine:3", { digest: sha256("m") });
  const s2 = await Store.open(dir);
  assert.deepEqual(await s2.getCached(key), { layer: "x" });
  assert.equal((await s2.getPin("docker.io/library/alpine:3"))?.digest, sha256("m"));
  assert.equal(await s2.getCached(sha256("other")), undefined);
});
