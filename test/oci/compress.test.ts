import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { createHash } from "node:crypto";
import { createCompressor, createDecompressor, sniffCompression } from "../../src/oci/compress.js";
import { writeLayer } from "../../src/oci/layer-writer.js";
import { whiteoutEntry, type LayerEntry } from "../../src/oci/layer-entry.js";
import { Store } from "../../src/store/store.js";
import { LadingError } from "../../src/errors.js";
import { tempDir } from "../helpers/tmp.js";

const t = tempDir("lading-compress-");
after(t.cleanup);

/** Reproducible pseudo-random bytes (xorshift), part compressible text, part noise. */
function payload(n: number, seed = 1): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    // Mostly letters from a small alphabet (compressible), some noise.
    out[i] = (i >> 12) % 3 === 0 ? x & 0xff : 97 + (x % 7);
  }
  return out;
}

function chunked(data: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) parts.push(data.subarray(i, i + size));
  return Readable.from(parts);
}

function sh(cmd: string[], input?: Buffer): Buffer {
  return execFileSync(cmd[0], cmd.slice(1), { input, maxBuffer: 1 << 30 });
}

test("gzip output does not depend on thread count or input chunking, and gzip/zcat accept it", async () => {
  const MiB = 1024 * 1024;
  const sizes = [0, 1, 100, 128 * 1024, MiB - 1, MiB, MiB + 1, 2 * MiB, 3 * MiB + 12345];
  for (const n of sizes) {
    const data = payload(n, n + 7);
    const outs: Buffer[] = [];
    for (const [threads, chunk] of [[1, 65536], [2, 1000], [3, 300000]] as const) {
      outs.push(await buffer(chunked(data, chunk).pipe(createCompressor("gzip", { threads }))));
    }
    assert.deepEqual(outs[1], outs[0], `threads 2 vs 1 at ${n} bytes`);
    assert.deepEqual(outs[2], outs[0], `threads 3 vs 1 at ${n} bytes`);
    const file = join(t.path, `p${n}.gz`);
    writeFileSync(file, outs[0]);
    sh(["gzip", "-t", file]);
    assert.deepEqual(sh(["zcat", file]), data);
    // Header: magic, deflate, no flags, mtime 0, xfl 0, OS 255.
    assert.deepEqual([...outs[0].subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    assert.deepEqual(await buffer(Readable.from([outs[0]]).pipe(createDecompressor("gzip"))), data);
  }
});

test("gzip size stays within 2% of gzip -6 on mixed data", async () => {
  const data = payload(4 * 1024 * 1024, 99);
  const ours = await buffer(Readable.from([data]).pipe(createCompressor("gzip")));
  const theirs = sh(["gzip", "-6", "-c"], data);
  assert.ok(ours.length <= theirs.length * 1.02, `${ours.length} vs gzip -6 ${theirs.length}`);
});

test("zstd round-trips through the zstd tool, the same bytes for 1 or 2 threads", async () => {
  const data = payload(2 * 1024 * 1024 + 3, 5);
  const one = await buffer(chunked(data, 70000).pipe(createCompressor("zstd", { threads: 1 })));
  const two = await buffer(chunked(data, 9000).pipe(createCompressor("zstd", { threads: 2 })));
  assert.deepEqual(two, one);
  assert.equal(sniffCompression(one), "zstd");
  assert.deepEqual(sh(["zstd", "-dc"], one), data);
  assert.deepEqual(await buffer(chunked(one, 4096).pipe(createDecompressor("zstd"))), data);
});

test("corrupt zstd input is an error, not silent truncation", async () => {
  const good = await buffer(Readable.from([payload(100000)]).pipe(createCompressor("zstd")));
  const bad = Buffer.from(good);
  bad.fill(0x55, 20, 200);
  await assert.rejects(buffer(Readable.from([bad]).pipe(createDecompressor("zstd"))), (e: unknown) => e instanceof LadingError && /zstd/.test(e.message));
});

test("sniffCompression reads the magic bytes", () => {
  assert.equal(sniffCompression(Buffer.from([0x1f, 0x8b, 8])), "gzip");
  assert.equal(sniffCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0])), "zstd");
  assert.equal(sniffCompression(Buffer.from("usr/bin/")), "none");
  assert.equal(sniffCompression(Buffer.alloc(0)), "none");
});

/**
 * Golden layer: if this digest changes, every layer lading has written
 * changes digest too — caches miss and pushed images differ. Change it only
 * on purpose, and say so in the release notes.
 */
test("golden layer: fixed entries give the committed digest and diffId", async () => {
  const store = await Store.open(join(t.path, "golden"));
  const bytes = (s: string | Buffer) => {
    const b = Buffer.from(s);
    return { size: b.length, open: () => Readable.from([b]) };
  };
  const big = payload(3 * 1024 * 1024 + 777, 42); // above the inline limit: exercises the worker threads
  const entries: LayerEntry[] = [
    { path: "usr", type: "directory", mode: 0o755, uid: 0, gid: 0, mtime: 1_600_000_000 },
    { path: "usr/bin", type: "directory", mode: 0o755, uid: 0, gid: 0 },
    { path: "usr/bin/tool", type: "file", mode: 0o4755, uid: 0, gid: 0, mtime: 1_600_000_000, ...bytes("#!/bin/sh\necho hi\n") },
    { path: "usr/bin/alias", type: "symlink", mode: 0o777, uid: 0, gid: 0, linkname: "tool" },
    { path: "usr/bin/hard", type: "hardlink", mode: 0o755, uid: 0, gid: 0, linkname: "usr/bin/tool" },
    { path: "home/user/data.bin", type: "file", mode: 0o600, uid: 1000, gid: 1000, mtime: 1_700_000_000, ...bytes(big) },
    { path: "home", type: "directory", mode: 0o755, uid: 0, gid: 0 },
    { path: "home/user", type: "directory", mode: 0o700, uid: 1000, gid: 1000 },
    { path: "dev/null", type: "char", mode: 0o666, uid: 0, gid: 0, devmajor: 1, devminor: 3 },
    { path: "dev", type: "directory", mode: 0o755, uid: 0, gid: 0 },
    { path: "opt/" + "x".repeat(120) + "/ünïcode", type: "file", mode: 0o644, uid: 0, gid: 0, xattrs: { "user.k": "v" }, ...bytes("p") },
    whiteoutEntry("etc/removed"),
  ];
  const a = await writeLayer(store, entries, { sourceDateEpoch: 1_650_000_000 });
  const b = await writeLayer(store, [...entries].reverse(), { sourceDateEpoch: 1_650_000_000 });
  assert.deepEqual(b, a);
  assert.equal(a.diffId, "sha256:e378136fd453e90b723e03192570a93d0fcd7465927fe89514b17bc75e0235b8");
  assert.equal(a.descriptor.digest, "sha256:04f00ad22277911a97c0836f98171958041e5249fa416aef8f2e5f2da125d0f7");
  assert.equal(a.descriptor.mediaType, "application/vnd.oci.image.layer.v1.tar+gzip");
  assert.equal(createHash("sha256").update(sh(["zcat", store.blobPath(a.descriptor.digest)])).digest("hex"), a.diffId.slice(7));
});

test("incompressible blocks are stored, compressible ones with a flat byte histogram still compress", async () => {
  const noise = Buffer.alloc(1024 * 1024);
  let x = 12345;
  for (let i = 0; i < noise.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    noise[i] = x >>> 24;
  }
  const counter = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < counter.length; i++) counter[i] = i & 0xff;
  for (const [data, maxRatio] of [[noise, 1.001], [counter, 0.05]] as const) {
    const out = await buffer(Readable.from([data]).pipe(createCompressor("gzip", { threads: 2 })));
    assert.ok(out.length <= data.length * maxRatio, `${out.length} bytes for ${data.length}`);
    assert.deepEqual(sh(["gzip", "-dc"], out), data);
  }
  // Stored and compressed blocks joined in one stream, in both orders, the last one either kind.
  const mixed = Buffer.concat([noise, counter, noise, counter.subarray(0, 1000), noise.subarray(0, 700000)]);
  const one = await buffer(chunked(mixed, 333333).pipe(createCompressor("gzip", { threads: 1 })));
  const two = await buffer(chunked(mixed, 65536).pipe(createCompressor("gzip", { threads: 2 })));
  assert.deepEqual(two, one);
  assert.deepEqual(sh(["gzip", "-dc"], one), mixed);
  assert.ok(one.length < noise.length * 2 + 710000, `${one.length} bytes for ${mixed.length}`);
});

test("a gzip layer with host files is the streamed gzip of its tar, with its digests", async () => {
  const { tarStream } = await import("../../src/oci/tar-writer.js");
  const MiB = 1024 * 1024;
  const src = join(t.path, "pieces-src");
  mkdirSync(src, { recursive: true });
  // Host files read by the compressing threads: empty, small, ending exactly on a
  // block boundary, spanning several blocks; between them bytes from streams.
  const sizes = { a: 0, b: 5000, c: MiB - 512 * 3, d: 2 * MiB + 12345, e: 700 };
  const entry = (name: string, size: number, host: boolean): LayerEntry => {
    const data = payload(size, size + 7);
    if (host) writeFileSync(join(src, name), data);
    return { path: name, type: "file", mode: 0o644, uid: 0, gid: 0, size, ...(host ? { hostPath: join(src, name) } : { open: () => Readable.from([data]) }) };
  };
  const store = await Store.open(join(t.path, "pieces-store"));
  const cases: LayerEntry[][] = [
    [],
    [entry("a", sizes.a, true), entry("e", sizes.e, true)], // one block: compressed on the calling thread
    Object.entries(sizes).flatMap(([n, size]) => [entry(n, size, true), entry(`${n}-streamed`, size, false)]),
  ];
  for (const entries of cases) {
    const tar = await buffer(tarStream(entries));
    const streamed = await buffer(chunked(tar, 100000).pipe(createCompressor("gzip")));
    const ref = await writeLayer(store, entries);
    const blob = readFileSync(store.blobPath(ref.descriptor.digest));
    assert.deepEqual(blob, streamed, `${entries.length} entries`);
    assert.equal(ref.diffId, `sha256:${createHash("sha256").update(tar).digest("hex")}`);
    assert.equal(ref.descriptor.digest, `sha256:${createHash("sha256").update(blob).digest("hex")}`);
    assert.equal(ref.descriptor.size, blob.length);
  }
});

test("layers written at once share the compressing threads, each with its own digests and file digests", async () => {
  // The threads take each layer's digests in block order (hash-chains.ts); four layers at once interleave
  // their blocks on the same threads, and each must still get the digests of its own bytes.
  const { tarStream } = await import("../../src/oci/tar-writer.js");
  const MiB = 1024 * 1024;
  const src = join(t.path, "at-once-src");
  mkdirSync(src, { recursive: true });
  const store = await Store.open(join(t.path, "at-once-store"));
  const layers = [0, 1, 2, 3].map((l) => {
    const entries: LayerEntry[] = [];
    const files: Buffer[] = [];
    for (const [i, size] of [3 * MiB + l * 999, 40000, MiB + 1, 0, 2 * MiB - 7].entries()) {
      const data = payload(size, 100 * l + i + 1);
      const name = `l${l}-f${i}`;
      writeFileSync(join(src, name), data);
      files.push(data);
      entries.push({ path: name, type: "file", mode: 0o644, uid: 0, gid: 0, size, hostPath: join(src, name) });
    }
    return { entries, files };
  });
  const written = await Promise.all(
    layers.map(async ({ entries }) => {
      const fileDigests: string[] = [];
      const ref = await writeLayer(store, entries, { onFileDigest: (d) => fileDigests.push(d) });
      return { ref, fileDigests };
    }),
  );
  for (const [l, { entries, files }] of layers.entries()) {
    const { ref, fileDigests } = written[l]!;
    const tar = await buffer(tarStream(entries));
    const blob = readFileSync(store.blobPath(ref.descriptor.digest));
    assert.equal(ref.diffId, `sha256:${createHash("sha256").update(tar).digest("hex")}`, `layer ${l}: diff ID`);
    assert.equal(ref.descriptor.digest, `sha256:${createHash("sha256").update(blob).digest("hex")}`, `layer ${l}: digest`);
    assert.deepEqual(sh(["gzip", "-dc"], blob), tar, `layer ${l}: gzip of its tar`);
    assert.deepEqual(fileDigests, files.map((f) => `sha256:${createHash("sha256").update(f).digest("hex")}`), `layer ${l}: file digests, in order`);
  }
});

test("the gzip stream's digests are of its input and output", async () => {
  const { createParallelGzip } = await import("../../src/oci/gzip-parallel.js");
  for (const n of [0, 5000, 3 * 1024 * 1024 + 99]) {
    const data = payload(n, n + 3);
    const gz = createParallelGzip({ digests: true });
    const out = await buffer(chunked(data, 77777).pipe(gz));
    assert.deepEqual(sh(["gzip", "-dc"], out), data, `${n} bytes`);
    const d = gz.digests();
    assert.deepEqual(d.uncompressed, { digest: `sha256:${createHash("sha256").update(data).digest("hex")}`, size: n });
    assert.deepEqual(d.compressed, { digest: `sha256:${createHash("sha256").update(out).digest("hex")}`, size: out.length });
  }
});

test("npm install built the native addons, and the deflate gives the WebAssembly build's bytes", async () => {
  const { nativeDeflate } = await import("../../src/oci/deflate-native.js");
  const { WasmDeflate } = await import("../../src/oci/deflate-wasm.js");
  const native = nativeDeflate();
  assert.ok(native, "build/Release/lading_deflate.node is missing or did not load: run npm ci with a C compiler (scripts/setup.sh installs one)");
  // Its sibling: without it the compressing threads cannot take the digests (they then fall to the main thread, unseen).
  const { HashChains } = await import("../../src/oci/hash-chains.js");
  assert.ok(HashChains.available(), "build/Release/lading_sha256.node is missing or did not load (does this Node export OpenSSL's SHA256_*?)");
  const wasm = new WasmDeflate();
  const text = Buffer.from(readFileSync(new URL("../../src/oci/tar-writer.js", import.meta.url), "utf8").repeat(40));
  const inputs = [Buffer.alloc(0), Buffer.from("a"), Buffer.alloc(70000), payload(300000, 5), text.subarray(0, 1 << 20), payload(1 << 20, 9)];
  const out = new Uint8Array(3 << 20);
  for (const data of inputs) {
    for (let level = 1; level <= 9; level++) {
      for (const last of [false, true]) {
        const want = Buffer.from(wasm.deflate(data, level, last));
        const n = native.deflateChunk(level, data, out, last);
        assert.deepEqual(Buffer.from(out.subarray(0, n)), want, `${data.length} bytes, level ${level}, last ${last}`);
      }
    }
  }
  // Too little room is 0, not an overrun.
  assert.equal(native.deflateChunk(5, payload(100000, 3), new Uint8Array(100), true), 0);
  assert.throws(() => native.deflateChunk(13, inputs[1]!, out, true), RangeError);
});

test("a layer compressed by many threads at once has the same bytes with either deflate", async () => {
  // In separate processes: the pool's threads all deflating natively, or all
  // with the WebAssembly build (LADING_DEFLATE=wasm, the fallback when the
  // addon was not built). State shared between native compressors once made
  // the output vary from run to run; this and the golden test caught it.
  const { execFileSync } = await import("node:child_process");
  const { fileURLToPath } = await import("node:url");
  const script = `
    import { writeLayer } from ${JSON.stringify(fileURLToPath(new URL("../../src/oci/layer-writer.js", import.meta.url)))};
    import { Store } from ${JSON.stringify(fileURLToPath(new URL("../../src/store/store.js", import.meta.url)))};
    const text = Buffer.from(Array.from({ length: 200000 }, (_, i) => "line " + (i * 7919 % 10007) + " of some text\\n").join(""));
    const entries = Array.from({ length: 6 }, (_, i) => ({ path: "f" + i, type: "file", mode: 0o644, uid: 0, gid: 0, size: text.length, open: () => [text] }));
    const ref = await writeLayer(await Store.open(process.argv[2]), entries);
    process.stdout.write(ref.descriptor.digest + " " + ref.diffId);`;
  const file = join(t.path, "threads.mjs");
  writeFileSync(file, script);
  const digest = (backend: string, i: number) =>
    execFileSync(process.execPath, [file, join(t.path, `threads-${backend}-${i}`)], { env: { ...process.env, LADING_DEFLATE: backend }, encoding: "utf8" });
  const wasm = digest("wasm", 0);
  for (let i = 0; i < 3; i++) assert.equal(digest("native", i), wasm, `native run ${i}`);
});
