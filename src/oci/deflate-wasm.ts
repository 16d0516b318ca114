/**
 * Raw deflate by libdeflate, compiled to WebAssembly
 * (vendor/libdeflate/: Debian's libdeflate 1.14 source, one patch, built
 * by scripts/build-libdeflate-wasm.sh).
 *
 * Why libdeflate: it compresses ~5× faster than pako (zlib's algorithm in
 * plain JS) and ~6% smaller at the same level; in WebAssembly its output
 * depends only on the input and the level, never on the CPU or the Node
 * version (node:zlib's does: see gzip-parallel.ts).
 *
 * Why the patch: libdeflate compresses whole buffers into complete streams.
 * lading_deflate_chunk can instead leave the stream open — no final-block
 * bit, and an empty stored block to end byte-aligned, as zlib's sync flush
 * does — so independently compressed chunks join into one deflate stream.
 *
 * One instance per thread: its compressors and buffers are reused for every
 * chunk; a result is a view of its memory, valid until the next call.
 */
import { readFileSync } from "node:fs";
import { LadingError } from "../errors.js";

interface Exports {
  memory: WebAssembly.Memory;
  malloc(n: number): number;
  free(ptr: number): void;
  libdeflate_alloc_compressor(level: number): number;
  libdeflate_deflate_compress_bound(compressor: number, n: number): number;
  lading_deflate_chunk(compressor: number, inPtr: number, n: number, outPtr: number, outAvail: number, isLast: number): number;
}

let module: WebAssembly.Module | undefined;

/** Compiled once per process; a Module can be handed to worker threads. */
export function deflateModule(): WebAssembly.Module {
  module ??= new WebAssembly.Module(readFileSync(new URL("../../../vendor/libdeflate/libdeflate.wasm", import.meta.url)));
  return module;
}

export class WasmDeflate {
  private readonly exports: Exports;
  private readonly compressors = new Map<number, number>();
  private inPtr = 0;
  private outPtr = 0;
  private capacity = 0;
  private outCapacity = 0;

  constructor(mod: WebAssembly.Module = deflateModule()) {
    this.exports = new WebAssembly.Instance(mod, {}).exports as unknown as Exports;
  }

  /**
   * Deflates `data` as one piece of a raw deflate stream at `level` (1–12):
   * ending the stream when `last`, else ending byte-aligned with the stream
   * left open for the next piece.
   */
  deflate(data: Uint8Array, level: number, last: boolean): Uint8Array {
    if (!Number.isInteger(level) || level < 1 || level > 12) throw new RangeError(`libdeflate level ${level}: use 1–12`);
    const e = this.exports;
    const c = this.compressor(level);
    // The bound is for a complete stream; an open one ends with ≤ 6 more bytes (the empty stored block).
    const bound = e.libdeflate_deflate_compress_bound(c, data.length) + 16;
    this.reserve(data.length, bound);
    new Uint8Array(e.memory.buffer, this.inPtr, data.length).set(data);
    const n = e.lading_deflate_chunk(c, this.inPtr, data.length, this.outPtr, bound, last ? 1 : 0);
    if (n === 0) throw new LadingError("INTERNAL", `libdeflate: ${data.length} bytes did not fit in ${bound}`);
    return new Uint8Array(e.memory.buffer, this.outPtr, n);
  }

  private compressor(level: number): number {
    let c = this.compressors.get(level);
    if (c === undefined) {
      c = this.exports.libdeflate_alloc_compressor(level);
      if (c === 0) throw new LadingError("INTERNAL", `libdeflate: no memory for a level ${level} compressor`);
      this.compressors.set(level, c);
    }
    return c;
  }

  /** Input and output buffers in the instance's memory, grown (never shrunk) to fit. */
  private reserve(inSize: number, outSize: number): void {
    if (inSize <= this.capacity && outSize <= this.outCapacity) return;
    if (this.inPtr) this.exports.free(this.inPtr);
    if (this.outPtr) this.exports.free(this.outPtr);
    this.capacity = Math.max(inSize, this.capacity);
    this.outCapacity = Math.max(outSize, this.outCapacity);
    this.inPtr = this.exports.malloc(this.capacity);
    this.outPtr = this.exports.malloc(this.outCapacity);
    if (this.inPtr === 0 || this.outPtr === 0) throw new LadingError("INTERNAL", `libdeflate: no memory for ${inSize} + ${outSize} bytes`);
  }
}
