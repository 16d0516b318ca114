/**
 * One block of a pigz-style gzip stream: raw deflate of `data`, primed with
 * the 32 KiB of input before it as dictionary, ended with a sync flush (so
 * it ends byte-aligned and the next block can follow) or, for the last
 * block, with the final block marker. The bytes depend only on (data, dict,
 * last, level), never on which thread ran it: that is what makes the
 * parallel output independent of the thread count.
 */
import { ReusableDeflate } from "./gzip-parallel-state.js";

/** Input per block: pigz's default (-b 128). */
export const BLOCK_SIZE = 128 * 1024;
/** Deflate's window: the most a match can reach back. */
export const DICT_SIZE = 32 * 1024;

const Z_SYNC_FLUSH = 2;
const Z_FINISH = 4;

/**
 * A block's place in its stream's shared memory: [dict][data][output].
 * Blocks travel to workers as offsets into one SharedArrayBuffer per stream
 * and the output comes back the same way, so neither side allocates per
 * block (a transferred or cloned buffer per block was ~0.2 MB of garbage
 * that a worker freed only every few hundred blocks).
 */
export const OUT_CAPACITY = BLOCK_SIZE + 4096; // deflate's bound for 128 KiB is ~+50 bytes; stored blocks ~+10
export const SLOT_SIZE = DICT_SIZE + BLOCK_SIZE + OUT_CAPACITY;

export interface SlotViews {
  data: Uint8Array;
  dict: Uint8Array | undefined;
  out: Uint8Array;
}

export function slotViews(memory: SharedArrayBuffer, slot: number, dictLength: number, length: number): SlotViews {
  const base = slot * SLOT_SIZE;
  return {
    dict: dictLength > 0 ? new Uint8Array(memory, base + DICT_SIZE - dictLength, dictLength) : undefined,
    data: new Uint8Array(memory, base + DICT_SIZE, length),
    out: new Uint8Array(memory, base + DICT_SIZE + BLOCK_SIZE, OUT_CAPACITY),
  };
}

/**
 * The deflated block. The result is a view of this thread's deflate state,
 * valid until its next call: copy it before deflating another block.
 */
export function deflateBlock(data: Uint8Array, dict: Uint8Array | undefined, last: boolean, level: number): Uint8Array {
  // Already-compressed data (archives, images, random bytes) costs full
  // matching effort for nothing: gzip ends up writing it as stored blocks
  // anyway. Storing it directly is decided from the block's own bytes only,
  // so the output stays deterministic.
  const effective = level > 0 && looksIncompressible(data) ? 0 : level;
  return runDeflate(data, effective === 0 ? undefined : dict, last, effective);
}

/** Probe slices of the block, each deflated fast; all must fail to shrink. */
const PROBES = 4;
const PROBE_SIZE = 4096;
/** pako's default output chunk (what `pako.deflateRaw` used for the probes). */
const PROBE_CHUNK = 16 * 1024;
/** Output chunk for blocks. */
const BLOCK_CHUNK = 64 * 1024;

/** One reusable state per (level, chunk size) per thread: blocks on a thread run one at a time. */
const states = new Map<string, ReusableDeflate>();
function stateFor(level: number, chunkSize: number): ReusableDeflate {
  const key = `${level}/${chunkSize}`;
  let s = states.get(key);
  if (!s) states.set(key, (s = new ReusableDeflate(level, chunkSize)));
  return s;
}

function looksIncompressible(data: Uint8Array): boolean {
  if (data.length < PROBES * PROBE_SIZE * 2) return false;
  const step = Math.floor((data.length - PROBE_SIZE) / (PROBES - 1));
  const probe = stateFor(1, PROBE_CHUNK);
  for (let i = 0; i < PROBES; i++) {
    const slice = data.subarray(i * step, i * step + PROBE_SIZE);
    if (probe.deflate(slice, undefined, Z_FINISH).length < PROBE_SIZE * 0.98) return false;
  }
  return true;
}

function runDeflate(data: Uint8Array, dict: Uint8Array | undefined, last: boolean, level: number): Uint8Array {
  return stateFor(level, BLOCK_CHUNK).deflate(data, dict, last ? Z_FINISH : Z_SYNC_FLUSH);
}
