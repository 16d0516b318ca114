/**
 * One block of a parallel gzip stream: raw deflate of `data` on its own
 * (no dictionary), ended byte-aligned with the stream left open or, for the
 * last block, with the final block marker. The bytes depend only on (data,
 * last, level), never on which thread ran it: that is what makes the
 * parallel output independent of the thread count.
 */
import { crc32 } from "node:zlib";
import { WasmDeflate } from "./deflate-wasm.js";
import { nativeDeflate } from "./deflate-native.js";
import { readHostRange, type HostFileRef } from "./tar-content.js";
import { FILES, HashChains, IN, OUT, sha256Hex, type ChainsRef } from "./hash-chains.js";
import { LadingError } from "../errors.js";

/**
 * Input per block. Blocks share no dictionary, so each restarts matching
 * cold: against one stream, on source text, 1 MiB blocks cost ~1% in size,
 * pigz's 128 KiB ~7.5%, 4 MiB ~0.3% (but four times the memory in flight).
 */
export const BLOCK_SIZE = 1024 * 1024;

/**
 * A block's place in its stream's shared memory: [data][output].
 * Blocks travel to workers as offsets into one SharedArrayBuffer per stream
 * and the output comes back the same way, so neither side allocates per
 * block.
 */
export const OUT_CAPACITY = BLOCK_SIZE + 4096; // libdeflate's bound for 1 MiB is ~+700 bytes; stored blocks +85
export const SLOT_SIZE = BLOCK_SIZE + OUT_CAPACITY;

export interface SlotViews {
  data: Uint8Array;
  out: Uint8Array;
}

export function slotViews(memory: SharedArrayBuffer, slot: number, length: number): SlotViews {
  const base = slot * SLOT_SIZE;
  return {
    data: new Uint8Array(memory, base, length),
    out: new Uint8Array(memory, base + BLOCK_SIZE, OUT_CAPACITY),
  };
}

/**
 * Bytes [pos, pos + length) of a host file of `size` bytes, to be read into
 * the block at `at` by the thread that compresses it: the main thread then
 * never touches file contents.
 */
export interface HostRead extends HostFileRef {
  size: number;
  pos: number;
  length: number;
  at: number;
}

/**
 * A block's host reads, packed: the names of read i are `names[2i]` (the
 * entry's path, for messages) and `names[2i + 1]` (its hostPath), its
 * numbers `nums[4i…4i + 3]` (size, pos, length, at). Why: a block of small
 * files has hundreds of reads, and posting them to the compressing thread
 * as objects cost the main thread more than writing their tar headers
 * (the structured clone writes every object and its keys); packed, they
 * travel as one string and one array of numbers.
 */
export class HostReads {
  readonly names: string[] = [];
  readonly nums: number[] = [];

  get count(): number {
    return this.nums.length / 4;
  }

  push(file: HostFileRef, size: number, pos: number, length: number, at: number): void {
    this.names.push(file.path, file.hostPath!);
    this.nums.push(size, pos, length, at);
  }

  /** What a compressing thread is sent. */
  pack(): PackedReads {
    return { names: this.names.join("\0"), nums: Float64Array.from(this.nums) };
  }

  /** Whether read `i` is a whole file (hashed by the block's thread; a file spread over blocks is hashed in order by their consumer). */
  isWhole(i: number): boolean {
    return this.nums[4 * i + 1] === 0 && this.nums[4 * i + 2] === this.nums[4 * i];
  }
}

/** HostReads as sent to a thread (paths cannot hold NUL, so it separates them). */
export interface PackedReads {
  names: string;
  nums: Float64Array;
}

/** The reads of a block, one object each, from either form. */
function unpack(reads: HostReads | PackedReads): HostRead[] {
  const names = typeof reads.names === "string" ? (reads.names === "" ? [] : reads.names.split("\0")) : reads.names;
  const nums = reads.nums;
  const out: HostRead[] = [];
  for (let i = 0; 4 * i < nums.length; i++) {
    out.push({ path: names[2 * i]!, hostPath: names[2 * i + 1]!, size: nums[4 * i]!, pos: nums[4 * i + 1]!, length: nums[4 * i + 2]!, at: nums[4 * i + 3]! });
  }
  return out;
}

export interface BlockInput {
  memory: SharedArrayBuffer;
  slot: number;
  length: number;
  last: boolean;
  level: number;
  reads: HostReads | PackedReads;
  /** Also give the sha256 of each file read whole into this block (wholeReadDigests). */
  hashFiles?: boolean;
  /**
   * The stream's digest chains (hash-chains.ts), to which this block offers
   * its bytes; `id` is the block's place in the stream.
   */
  chains?: ChainsRef;
  id?: number;
}

/**
 * Completes a block (its host file reads), then compresses it. `inPlace`:
 * the output is in the slot's output area; otherwise it is this thread's
 * buffer (see deflateBlock), to be copied before the next block.
 */
export function compressBlock(b: BlockInput): { crc: number; out: Uint8Array; inPlace: boolean; digests?: string[] } {
  const chains = b.chains ? new HashChains(b.memory, b.chains) : undefined;
  try {
    const v = slotViews(b.memory, b.slot, b.length);
    const reads = unpack(b.reads);
    // The whole slot: a file's last piece may read one byte past the block's input (see readHostRange), which is put back.
    const slot = new Uint8Array(b.memory, b.slot * SLOT_SIZE, SLOT_SIZE);
    for (const r of reads) readHostRange(r, r.size, r.pos, r.length, slot, r.at);
    const digests = b.hashFiles ? wholeReadDigests(reads, v.data) : undefined;
    const crc = crc32(v.data);
    // The input's turns before deflating, so that the next block's do not wait for this deflate; offered, not waited
    // for (HashChains.offer): whoever gets the turn here first hashes.
    if (chains) offerInput(chains, b.id!, reads, v.data.length);
    let out = deflateBlock(v.data, b.last, b.level, v.out);
    let inPlace = out.buffer === v.out.buffer && out.byteOffset === v.out.byteOffset;
    if (!inPlace && out.length <= v.out.length) {
      v.out.set(out);
      out = v.out.subarray(0, out.length);
      inPlace = true;
    }
    if (chains?.keeps(OUT)) {
      if (inPlace) chains.offer(OUT, b.id!, out.length);
      else chains.take(OUT, b.id!, (s) => s.update(out));
    }
    return { crc, out, inPlace, digests };
  } catch (err) {
    chains?.break();
    throw err;
  }
}

/**
 * Block `id`'s offers on the chains of its input: the tar's bytes, and the
 * pieces of files spread over blocks (the digests of the files read whole
 * into it are taken by this thread, wholeReadDigests; a spread file's is
 * the main thread's to pick up, HashChains.spreadDigest).
 */
function offerInput(chains: HashChains, id: number, reads: readonly HostRead[], length: number): void {
  if (chains.keeps(IN)) chains.offer(IN, id, length);
  if (!chains.keeps(FILES)) return;
  const spread = reads.filter((r) => !isWholeRead(r)).map((r) => ({ at: r.at, length: r.length, first: r.pos === 0, last: r.pos + r.length === r.size }));
  chains.offer(FILES, id, 0, spread);
}

/** Whether `r` is a whole file (see HostReads.isWhole). */
function isWholeRead(r: HostRead): boolean {
  return r.pos === 0 && r.length === r.size;
}

/** The sha256 (hex) of each file read whole into the block, in order: the bytes are at hand, in this thread's cache. */
function wholeReadDigests(reads: readonly HostRead[], data: Uint8Array): string[] {
  const out: string[] = [];
  for (const r of reads) if (isWholeRead(r)) out.push(sha256Hex(data.subarray(r.at, r.at + r.length)));
  return out;
}

/** This thread's deflater: blocks on a thread run one at a time. */
let deflater: WasmDeflate | undefined;

/** Starts this thread's deflater from a module compiled elsewhere (worker threads get the main thread's). */
export function useDeflateModule(mod: WebAssembly.Module): void {
  deflater ??= new WasmDeflate(mod);
}

/**
 * The deflated block: in `into` when given and it fits there, else a view
 * of this thread's buffers, valid until its next call (copy it before
 * deflating another block).
 */
export function deflateBlock(data: Uint8Array, last: boolean, level: number, into?: Uint8Array): Uint8Array {
  // Already-compressed data (archives, images, random bytes) costs full
  // matching effort for nothing: gzip ends up writing it as stored blocks
  // anyway. Storing it directly is decided from the block's own bytes only,
  // so the output stays deterministic.
  if (level === 0 || looksIncompressible(data)) return storedBlocks(data, last);
  return deflateChunk(data, level, last, into);
}

/** libdeflate, native when built (deflate-native.ts), else WebAssembly: the same bytes either way. */
function deflateChunk(data: Uint8Array, level: number, last: boolean, into?: Uint8Array): Uint8Array {
  const native = nativeDeflate();
  if (!native) {
    deflater ??= new WasmDeflate();
    return deflater.deflate(data, level, last);
  }
  if (!Number.isInteger(level) || level < 1 || level > 12) throw new RangeError(`libdeflate level ${level}: use 1–12`);
  if (into) {
    const n = native.deflateChunk(level, data, into, last);
    if (n > 0) return into.subarray(0, n);
  }
  // Room for stored blocks' headers and libdeflate's end padding, with margin.
  const bound = data.length + 5 * Math.ceil(data.length / 4096) + 1024;
  if (nativeOut.length < bound) nativeOut = new Uint8Array(bound);
  const n = native.deflateChunk(level, data, nativeOut, last);
  if (n === 0) throw new LadingError("INTERNAL", `libdeflate: ${data.length} bytes did not fit in ${bound}`);
  return nativeOut.subarray(0, n);
}

let nativeOut = new Uint8Array(0);

/** Probe slices spread over the block, each deflated fast; all must fail to shrink. */
const PROBES = 8;
const PROBE_SIZE = 4096;

function looksIncompressible(data: Uint8Array): boolean {
  if (data.length < PROBES * PROBE_SIZE * 2) return false;
  const step = Math.floor((data.length - PROBE_SIZE) / (PROBES - 1));
  for (let i = 0; i < PROBES; i++) {
    const slice = data.subarray(i * step, i * step + PROBE_SIZE);
    if (deflateChunk(slice, 1, true).length < PROBE_SIZE * 0.98) return false;
  }
  return true;
}

/** Deflate's stored blocks hold at most this much each (LEN is 16 bits). */
const STORED_MAX = 65535;
let stored = new Uint8Array(0);

/**
 * `data` as stored (uncompressed) deflate blocks. Every block before starts
 * byte-aligned, so each header is one byte (BFINAL, BTYPE 00, padding)
 * followed by LEN and its complement.
 */
function storedBlocks(data: Uint8Array, last: boolean): Uint8Array {
  const count = Math.max(1, Math.ceil(data.length / STORED_MAX));
  const size = data.length + 5 * count;
  if (stored.length < size) stored = new Uint8Array(Math.max(size, BLOCK_SIZE + 5 * Math.ceil(BLOCK_SIZE / STORED_MAX)));
  let at = 0;
  for (let i = 0; i < count; i++) {
    const part = data.subarray(i * STORED_MAX, (i + 1) * STORED_MAX);
    stored[at] = last && i === count - 1 ? 1 : 0;
    stored[at + 1] = part.length & 0xff;
    stored[at + 2] = part.length >>> 8;
    stored[at + 3] = ~part.length & 0xff;
    stored[at + 4] = (~part.length >>> 8) & 0xff;
    stored.set(part, at + 5);
    at += 5 + part.length;
  }
  return stored.subarray(0, at);
}
