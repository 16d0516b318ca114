/**
 * The contract of oci/blob-store.ts, as one suite any implementation runs
 * (containerd's content-store test suite is the model). The harness gives
 * what the interface cannot show: leftover temp files, and a way to damage
 * a stored blob behind the store's back.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { Readable } from "node:stream";
import { LadingError } from "../../src/errors.js";
import { readBlobHead, type BlobStore } from "../../src/oci/blob-store.js";
import { sha256, type Digest } from "../../src/oci/digest.js";

export interface BlobStoreHarness {
  blobs: BlobStore;
  /** Temp files the store still holds (none once every call has settled). */
  leftovers(): Promise<string[]>;
  /** Replaces a stored blob's bytes without the store knowing. */
  corrupt(digest: Digest, bytes: Buffer): Promise<void>;
}

const code = (c: string) => (e: unknown) => e instanceof LadingError && e.code === c;

async function drain(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A stream that yields `data` in small pieces with a pause between them, so puts overlap. */
function slow(data: Buffer, pieces = 8): Readable {
  const step = Math.ceil(data.length / pieces);
  return Readable.from((async function* () {
    for (let i = 0; i < data.length; i += step) {
      await new Promise((r) => setTimeout(r, 2));
      yield data.subarray(i, i + step);
    }
  })());
}

export function blobStoreConformance(name: string, open: () => Promise<BlobStoreHarness>): void {
  const data = Buffer.from("the quick brown fox jumps over the lazy dog\n".repeat(1000));
  const digest = sha256(data);

  test(`${name}: a put returns the bytes' digest and size, and reads give the bytes back`, async () => {
    const h = await open();
    for (const source of [data, data.toString("utf8"), Readable.from([data.subarray(0, 7), data.subarray(7)])]) {
      assert.deepEqual(await h.blobs.putBlob(source), { digest, size: data.length });
    }
    assert.equal(await h.blobs.hasBlob(digest), true);
    assert.equal(await h.blobs.hasBlob(digest, data.length), true);
    assert.equal(await h.blobs.hasBlob(digest, data.length + 1), false);
    assert.equal(await h.blobs.blobSize(digest), data.length);
    assert.deepEqual(await h.blobs.readBlob(digest), data);
    assert.deepEqual(await drain(h.blobs.openBlob(digest, { verify: true })), data);
    assert.deepEqual(await h.leftovers(), []);
  });

  test(`${name}: putting what is there already succeeds (idempotent), with or without an expected digest`, async () => {
    const h = await open();
    const first = await h.blobs.putBlob(data);
    assert.deepEqual(await h.blobs.putBlob(Readable.from([data]), { digest, size: data.length }), first);
    assert.deepEqual(await h.blobs.putBlob(data, { digest }), first);
    assert.deepEqual(await h.leftovers(), []);
  });

  test(`${name}: concurrent puts of the same content all succeed and leave one intact blob`, async () => {
    const h = await open();
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => h.blobs.putBlob(slow(data), i % 2 ? { digest } : undefined)));
    for (const r of results) assert.deepEqual(r, { digest, size: data.length });
    assert.deepEqual(await h.blobs.readBlob(digest), data);
    assert.deepEqual(await h.leftovers(), []);
  });

  test(`${name}: content that is not what was expected is refused, and nothing is stored`, async () => {
    const h = await open();
    const wrong = sha256("something else");
    await assert.rejects(h.blobs.putBlob(slow(data), { digest: wrong }), code("DIGEST_MISMATCH"));
    await assert.rejects(h.blobs.putBlob(data, { size: data.length - 1 }), code("DIGEST_MISMATCH"));
    assert.equal(await h.blobs.hasBlob(digest), false);
    assert.equal(await h.blobs.hasBlob(wrong), false);
    assert.deepEqual(await h.leftovers(), []);
  });

  test(`${name}: a source that fails part-way, or a cancelled put, leaves no blob and no temp file`, async () => {
    const h = await open();
    const failing = Readable.from((async function* () {
      yield data.subarray(0, 100);
      throw new Error("the network went away");
    })());
    await assert.rejects(h.blobs.putBlob(failing));
    const ac = new AbortController();
    const put = h.blobs.putBlob(slow(data, 50), undefined, ac.signal);
    setTimeout(() => ac.abort(), 10);
    await assert.rejects(put);
    assert.equal(await h.blobs.hasBlob(digest), false);
    assert.deepEqual(await h.leftovers(), []);
  });

  test(`${name}: reads verify: a damaged blob is DIGEST_MISMATCH, a missing one NOT_FOUND`, async () => {
    const h = await open();
    await h.blobs.putBlob(data);
    const damaged = Buffer.from(data);
    damaged[10] ^= 0xff;
    await h.corrupt(digest, damaged);
    await assert.rejects(h.blobs.readBlob(digest), code("DIGEST_MISMATCH"));
    await assert.rejects(drain(h.blobs.openBlob(digest, { verify: true })), code("DIGEST_MISMATCH"));
    const missing = sha256("never stored");
    assert.equal(await h.blobs.hasBlob(missing), false);
    assert.equal(await h.blobs.blobSize(missing), undefined);
    await assert.rejects(h.blobs.readBlob(missing), code("NOT_FOUND"));
    await assert.rejects(drain(h.blobs.openBlob(missing)), code("NOT_FOUND"));
  });

  test(`${name}: ranged reads give exactly the bytes asked for`, async () => {
    const h = await open();
    await h.blobs.putBlob(data);
    assert.deepEqual(await drain(h.blobs.openBlob(digest, { start: 5, end: 20 })), data.subarray(5, 21));
    assert.deepEqual(await drain(h.blobs.openBlob(digest, { start: data.length - 3 })), data.subarray(data.length - 3));
    assert.deepEqual(await drain(h.blobs.openBlob(digest, { chunkSize: 1 << 20 })), data);
    assert.deepEqual(await readBlobHead(h.blobs, digest, 4), data.subarray(0, 4));
    const tiny = await h.blobs.putBlob("ab");
    assert.deepEqual(await readBlobHead(h.blobs, tiny.digest, 4), Buffer.from("ab"));
  });

  test(`${name}: temp files become blobs through putFile and adoptFile, and are gone either way`, async () => {
    const h = await open();
    const t1 = h.blobs.tempPath("conf");
    await writeFile(t1, data);
    assert.deepEqual(await h.blobs.putFile(t1, { digest }), { digest, size: data.length });
    const t2 = h.blobs.tempPath("conf");
    await writeFile(t2, "abc");
    await assert.rejects(h.blobs.putFile(t2, { digest }), code("DIGEST_MISMATCH"));
    const t3 = h.blobs.tempPath("conf");
    await writeFile(t3, "abc");
    // A writer that says it hashed more bytes than it wrote is refused.
    await assert.rejects(h.blobs.adoptFile(t3, { digest: sha256("abcd"), size: 4 }), code("DIGEST_MISMATCH"));
    const t4 = h.blobs.tempPath("conf");
    await writeFile(t4, "abc");
    assert.deepEqual(await h.blobs.adoptFile(t4, { digest: sha256("abc"), size: 3 }), { digest: sha256("abc"), size: 3 });
    assert.deepEqual(await h.blobs.readBlob(sha256("abc")), Buffer.from("abc"));
    assert.deepEqual(await h.leftovers(), []);
  });

  test(`${name}: a claim says whether the blob is there, with the size when given`, async () => {
    const h = await open();
    assert.equal(await h.blobs.claimBlob(digest), false);
    await h.blobs.putBlob(data);
    assert.equal(await h.blobs.claimBlob(digest), true);
    assert.equal(await h.blobs.claimBlob(digest, data.length), true);
    assert.equal(await h.blobs.claimBlob(digest, data.length + 1), false);
  });

  test(`${name}: JSON is stored in one fixed serialisation, whatever the key order`, async () => {
    const h = await open();
    const a = await h.blobs.putJson({ b: 1, a: [1, { d: 2, c: 3 }] });
    const b = await h.blobs.putJson({ a: [1, { c: 3, d: 2 }], b: 1 });
    assert.equal(a.digest, b.digest);
    assert.deepEqual(await h.blobs.readJson(a.digest), { a: [1, { c: 3, d: 2 }], b: 1 });
  });
}
