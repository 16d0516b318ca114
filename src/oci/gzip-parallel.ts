/**
 * Deterministic, parallel gzip (the pigz scheme, deflate done by our
 * vendored libdeflate: natively when npm install built it, deflate-native.ts,
 * else in WebAssembly, deflate-wasm.ts; the same bytes either way).
 *
 * Why not node:zlib: Node bundles Chromium's zlib fork, whose matcher uses
 * CPU-dependent code paths, so the same input can compress to different
 * bytes on different machines or Node versions — and a layer's digest is
 * its compressed bytes. libdeflate's compressor makes no such choices, and
 * its source is pinned in the repository: the same bytes on every machine.
 *
 * Why blocks: the input is cut at fixed 1 MiB offsets; each block is
 * deflated on its own (in worker threads), ending byte-aligned, and the
 * pieces are joined into ONE gzip member, in input order; its crc32 is
 * joined from the blocks' own, which the threads that compress them
 * compute. Block boundaries depend only on byte offsets, so the output is
 * the same for any thread count and any chunking of the input. The cost is
 * a few bytes per block and matches that cannot reach across a boundary:
 * ~1% larger than one-stream deflate on source text.
 *
 * The blocks, their memory and threads: gzip-blocks.ts. This file is the
 * stream form; layer-writer.ts feeds a tar to the blocks directly.
 */
import { Transform, type TransformCallback } from "node:stream";
import { availableParallelism } from "node:os";
import { LadingError } from "../errors.js";
import { BLOCK_SIZE } from "./gzip-parallel-block.js";
import { GzipBlocks, type GzipDigests } from "./gzip-blocks.js";

export type { GzipDigests, SizedDigest } from "./gzip-blocks.js";

export interface ParallelGzipOptions {
  /** libdeflate level 1–9 (0: store only); default DEFAULT_LEVEL. */
  level?: number;
  /** Worker threads; default the number of CPUs. Does not change the output. */
  threads?: number;
  /**
   * Also hash the input and the output: `digests()` once the stream has
   * finished. Cheaper than hashing stages around the stream.
   */
  digests?: boolean;
}

/** A parallel gzip stream; with `digests`, also what it read and wrote. */
export interface ParallelGzipStream extends Transform {
  /** Once the stream has finished: the digests and sizes of its input and output. */
  digests(): GzipDigests;
}

/**
 * libdeflate's level 5 gives about the size of gzip -6 (measured on /usr/bin,
 * /usr/share/doc and man, node_modules: −0.3% to +1.3%), at ~1.4× the speed
 * of its level 6.
 */
export const DEFAULT_LEVEL = 5;

/** Checked options for GzipBlocks, defaults filled in. */
export function gzipSettings(opts: { level?: number; threads?: number }): { level: number; threads: number } {
  const level = opts.level ?? DEFAULT_LEVEL;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new LadingError("INVALID_ARGUMENT", `gzip level ${level}: use 0–9`);
  const threads = opts.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) throw new LadingError("INVALID_ARGUMENT", `gzip threads ${threads}: use a whole number ≥ 1`);
  return { level, threads };
}

export function createParallelGzip(opts: ParallelGzipOptions = {}): ParallelGzipStream {
  return new ParallelGzip(gzipSettings(opts), opts.digests ?? false);
}

class ParallelGzip extends Transform implements ParallelGzipStream {
  private readonly blocks: GzipBlocks;
  private result?: GzipDigests;

  constructor(settings: { level: number; threads: number }, private readonly hashed: boolean) {
    super({ highWaterMark: BLOCK_SIZE });
    // A copy: the bytes are views of block memory that later blocks reuse.
    this.blocks = new GzipBlocks({ ...settings, digests: hashed, output: (bytes) => this.push(Buffer.from(bytes)) });
  }

  digests(): GzipDigests {
    if (!this.result) throw new LadingError("INTERNAL", this.hashed ? "gzip digests asked for before the stream finished" : "gzip stream made without the digests option");
    return this.result;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const wait = this.blocks.write(chunk);
    if (wait) wait.then(() => cb(), cb);
    else cb();
  }

  override _flush(cb: TransformCallback): void {
    this.blocks.finish().then((d) => {
      this.result = d;
      cb();
    }, cb);
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.blocks.abort();
    cb(err);
  }
}
