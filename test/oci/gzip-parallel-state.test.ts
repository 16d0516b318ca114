import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import pako from "pako";
import { ReusableDeflate, setFullDictionary } from "../../src/oci/gzip-parallel-state.js";
import { deflateBlock } from "../../src/oci/gzip-parallel-block.js";

const Z_SYNC_FLUSH = 2;
const Z_FINISH = 4;

/** What every block cost before states were reused: a fresh pako Deflate (the reference bytes). */
function fresh(data: Uint8Array, dict: Uint8Array | undefined, flush: number, level: number, chunkSize: number): Buffer {
  const d = new pako.Deflate({ level: level as pako.DeflateFunctionOptions["level"], raw: true, windowBits: 15, memLevel: 8, strategy: 0, chunkSize, ...(dict ? { dictionary: dict } : {}) });
  const parts: Uint8Array[] = [];
  d.onData = (c: Uint8Array) => parts.push(c);
  d.onEnd = () => {};
  d.push(data, flush);
  return Buffer.concat(parts);
}

/** The block function as it was with a fresh Deflate per block and per probe. */
function freshBlock(data: Uint8Array, dict: Uint8Array | undefined, last: boolean, level: number): Buffer {
  let stored = false;
  if (level > 0 && data.length >= 4 * 4096 * 2) {
    const step = Math.floor((data.length - 4096) / 3);
    stored = [0, 1, 2, 3].every((i) => pako.deflateRaw(data.subarray(i * step, i * step + 4096), { level: 1 }).length >= 4096 * 0.98);
  }
  return fresh(data, stored ? undefined : dict, last ? Z_FINISH : Z_SYNC_FLUSH, stored ? 0 : level, 64 * 1024);
}

/** Reproducible blocks of several kinds: text-like, noise, zeros, runs, short. */
function blocks(): Array<{ name: string; data: Buffer }> {
  let x = 7;
  const rnd = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
  const words = ["layer", "digest", "sha256", "manifest", "config", " ", "\n", "{", "}", "\"", ":", "0", "1", "import", "export"];
  const text = (n: number) => {
    const parts: string[] = [];
    let len = 0;
    while (len < n) {
      const w = words[rnd() % words.length];
      parts.push(w);
      len += w.length;
    }
    return Buffer.from(parts.join("")).subarray(0, n);
  };
  const noise = (n: number) => Buffer.from(Array.from({ length: n }, () => rnd() & 0xff));
  const K = 1024;
  return [
    { name: "text", data: text(128 * K) },
    { name: "noise", data: noise(128 * K) },
    { name: "text after noise", data: text(128 * K) },
    { name: "zeros", data: Buffer.alloc(128 * K) },
    { name: "half noise", data: Buffer.concat([text(64 * K), noise(64 * K)]) },
    { name: "runs", data: Buffer.from(Array.from({ length: 128 * K }, (_, i) => (i >> 9) & 0xff)) },
    { name: "short text", data: text(1000) },
    { name: "one byte", data: Buffer.from([42]) },
    { name: "two bytes", data: Buffer.from([1, 2]) },
    { name: "empty", data: Buffer.alloc(0) },
    { name: "text again", data: text(100 * K) },
  ];
}

test("a reused deflate state gives the bytes of a fresh pako Deflate, block after block", () => {
  const bs = blocks();
  const dictFull = Buffer.from(bs[0].data.subarray(-32 * 1024));
  const dictShort = Buffer.from(bs[2].data.subarray(0, 1000));
  // Chunk size matters for stored blocks (sized by the output room), so level 0 gets both.
  for (const [level, chunkSize] of [[0, 16 * 1024], [0, 64 * 1024], [1, 16 * 1024], [6, 64 * 1024], [9, 64 * 1024]]) {
    {
      const state = new ReusableDeflate(level, chunkSize);
      // Every kind of block after every other: stale state from any of them would show.
      for (let round = 0; round < 2; round++) {
        for (const b of bs) {
          for (const [dname, dict] of [["no dict", undefined], ["full dict", dictFull], ["short dict", dictShort]] as const) {
            for (const flush of [Z_SYNC_FLUSH, Z_FINISH]) {
              const want = fresh(b.data, dict, flush, level, chunkSize);
              const got = Buffer.from(state.deflate(b.data, dict, flush));
              assert.ok(got.equals(want), `level ${level}, chunk ${chunkSize}, ${b.name}, ${dname}, flush ${flush}: ${got.length} vs ${want.length} bytes`);
            }
          }
        }
      }
    }
  }
});

test("deflateBlock gives the bytes of a fresh Deflate per block and per incompressibility probe", () => {
  const bs = blocks();
  let prev: Buffer | undefined;
  for (const level of [1, 6]) {
    for (const b of bs) {
      const dict = prev ? prev.subarray(-32 * 1024) : undefined;
      for (const last of [false, true]) {
        assert.ok(Buffer.from(deflateBlock(b.data, dict, last, level)).equals(freshBlock(b.data, dict, last, level)), `level ${level}, ${b.name}, last ${last}`);
      }
      prev = b.data.length >= 32 * 1024 ? b.data : prev;
    }
  }
});

test("setFullDictionary leaves the state pako's deflateSetDictionary leaves, field by field", () => {
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve("pako"));
  const zlib = require(join(dir, "lib/zlib/deflate.js"));
  const ZStream = require(join(dir, "lib/zlib/zstream.js"));
  for (const b of blocks().filter((x) => x.data.length >= 32 * 1024)) {
    const dict = b.data.subarray(0, 32 * 1024);
    const [a, c] = [new ZStream(), new ZStream()];
    for (const s of [a, c]) assert.equal(zlib.deflateInit2(s, 6, 8, -15, 8, 0, true), 0);
    assert.equal(zlib.deflateSetDictionary(a, dict), 0);
    setFullDictionary(c, dict);
    for (const k of Object.keys(a.state)) {
      const [x, y] = [a.state[k], c.state[k]];
      if (ArrayBuffer.isView(x)) assert.ok(Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from((y as Uint8Array).buffer, (y as Uint8Array).byteOffset, (y as Uint8Array).byteLength)), `${b.name}: state.${k}`);
      else if (x && typeof x === "object" && "max_code" in x) assert.equal(x.max_code, y.max_code, `${b.name}: state.${k}.max_code`);
      else if (typeof x !== "object") assert.equal(y, x, `${b.name}: state.${k}`);
    }
    for (const k of ["next_in", "avail_in", "total_in", "next_out", "avail_out", "total_out", "adler"]) assert.equal(c[k], a[k], `${b.name}: strm.${k}`);
  }
});
