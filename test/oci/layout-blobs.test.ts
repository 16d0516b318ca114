// Reading blobs in place from an OCI layout (the source of `push oci:DIR`):
// the bytes come out exactly, whole or in ranges, and a corrupt blob never
// comes out whole — the stream fails before its last bytes, in order or not.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { LayoutBlobs } from "../../src/oci/layout-blobs.js";
import type { Digest } from "../../src/oci/digest.js";
import { tempDir } from "../helpers/tmp.js";

const t = tempDir("lading-layout-blobs-");
after(t.cleanup);
mkdirSync(join(t.path, "blobs", "sha256"), { recursive: true });

function blob(bytes: Buffer, corruptAt?: number): Digest {
  const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}` as Digest;
  const onDisk = Buffer.from(bytes);
  if (corruptAt !== undefined) onDisk[corruptAt] = onDisk[corruptAt]! ^ 0x01;
  writeFileSync(join(t.path, "blobs", "sha256", digest.slice(7)), onDisk);
  return digest;
}

/** Everything a reader got before the stream ended or failed. */
async function drain(s: Readable): Promise<{ bytes: Buffer; error?: Error }> {
  const chunks: Buffer[] = [];
  try {
    for await (const c of s) chunks.push(c as Buffer);
    return { bytes: Buffer.concat(chunks) };
  } catch (error) {
    return { bytes: Buffer.concat(chunks), error: error as Error };
  }
}

const ranges = (size: number, n: number) => Array.from({ length: Math.ceil(size / n) }, (_, i) => ({ start: i * n, end: Math.min((i + 1) * n, size) - 1 }));

test("whole and in-order ranges give the exact bytes; a range out of order too", async () => {
  const bytes = randomBytes(300_000);
  const d = blob(bytes);
  const blobs = new LayoutBlobs(t.path, "oci:test");
  assert.deepEqual((await drain(blobs.open(d, bytes.length))).bytes, bytes);
  const fresh = new LayoutBlobs(t.path, "oci:test");
  const parts = [];
  for (const r of ranges(bytes.length, 70_000)) parts.push((await drain(fresh.open(d, bytes.length, { ...r, chunkSize: 16_384 }))).bytes);
  assert.deepEqual(Buffer.concat(parts), bytes);
  const retry = new LayoutBlobs(t.path, "oci:test");
  const r = await drain(retry.open(d, bytes.length, { start: 140_000, end: 209_999 }));
  assert.equal(r.error, undefined);
  assert.deepEqual(r.bytes, bytes.subarray(140_000, 210_000));
  assert.deepEqual(await new LayoutBlobs(t.path, "oci:test").read(d), bytes);
});

test("a corrupt blob fails whole, in its last in-order range before the range's last bytes, and out of order before any byte", async () => {
  const bytes = randomBytes(300_000);
  const d = blob(bytes, 123_456);
  const whole = await drain(new LayoutBlobs(t.path, "oci:test").open(d, bytes.length, { chunkSize: 16_384 }));
  assert.match(whole.error?.message ?? "", new RegExp(`oci:test: blob ${d} is corrupt \\(its bytes hash to sha256:`));
  assert.ok(whole.bytes.length < bytes.length, "the whole corrupt blob came out");

  const inOrder = new LayoutBlobs(t.path, "oci:test");
  const rs = ranges(bytes.length, 100_000);
  for (const r of rs.slice(0, -1)) assert.equal((await drain(inOrder.open(d, bytes.length, r))).error, undefined);
  const last = rs[rs.length - 1]!;
  const end = await drain(inOrder.open(d, bytes.length, { ...last, chunkSize: 16_384 }));
  assert.equal((end.error as { code?: string })?.code, "DIGEST_MISMATCH");
  assert.ok(end.bytes.length < last.end - last.start + 1, "the last range of a corrupt blob came out whole");

  const outOfOrder = await drain(new LayoutBlobs(t.path, "oci:test").open(d, bytes.length, { start: 200_000, end: 299_999 }));
  assert.equal((outOfOrder.error as { code?: string })?.code, "DIGEST_MISMATCH");
  assert.equal(outOfOrder.bytes.length, 0);
  await assert.rejects(new LayoutBlobs(t.path, "oci:test").read(d), { code: "DIGEST_MISMATCH" });
});

test("a missing blob is named as missing from the layout", async () => {
  const d = `sha256:${"0".repeat(64)}` as Digest;
  const r = await drain(new LayoutBlobs(t.path, "oci:test").open(d, 10));
  assert.match(r.error?.message ?? "", /oci:test: blob sha256:0{64} is referenced but missing/);
});
