import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";
import { crc32Combine } from "../../src/oci/crc32-combine.js";

test("crc32Combine gives the checksum of the joined bytes, for any split", () => {
  const data = randomBytes(300_000);
  for (const cut of [0, 1, 7, 4096, 65_536, 150_001, 299_999, 300_000]) {
    const a = data.subarray(0, cut);
    const b = data.subarray(cut);
    assert.equal(crc32Combine(crc32(a), crc32(b), b.length), crc32(data), `cut at ${cut}`);
  }
  // Many blocks in a row, as the parallel gzip joins them.
  let crc = 0;
  for (let at = 0; at < data.length; at += 70_000) {
    const part = data.subarray(at, at + 70_000);
    crc = crc32Combine(crc, crc32(part), part.length);
  }
  assert.equal(crc, crc32(data));
  // An empty block changes nothing.
  assert.equal(crc32Combine(crc32(data), 0, 0), crc32(data));
});
