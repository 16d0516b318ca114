/**
 * One block of a pigz-style gzip stream: raw deflate of `data`, primed with
 * the 32 KiB of input before it as dictionary, ended with a sync flush (so
 * it ends byte-aligned and the next block can follow) or, for the last
 * block, with the final block marker. The bytes depend only on (data, dict,
 * last, level), never on which thread ran it: that is what makes the
 * parallel output independent of the thread count.
 */
import pako from "pako";

/** Input per block: pigz's default (-b 128). */
export const BLOCK_SIZE = 128 * 1024;
/** Deflate's window: the most a match can reach back. */
export const DICT_SIZE = 32 * 1024;

const Z_SYNC_FLUSH = 2;
const Z_FINISH = 4;

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

function looksIncompressible(data: Uint8Array): boolean {
  if (data.length < PROBES * PROBE_SIZE * 2) return false;
  const step = Math.floor((data.length - PROBE_SIZE) / (PROBES - 1));
  for (let i = 0; i < PROBES; i++) {
    const slice = data.subarray(i * step, i * step + PROBE_SIZE);
    if (pako.deflateRaw(slice, { level: 1 }).length < PROBE_SIZE * 0.98) return false;
  }
  return true;
}

function runDeflate(data: Uint8Array, dict: Uint8Array | undefined, last: boolean, level: number): Uint8Array {
  const deflate = new pako.Deflate({
    level: level as pako.DeflateFunctionOptions["level"],
    raw: true,
    windowBits: 15,
    memLevel: 8,
    strategy: 0,
    chunkSize: 64 * 1024,
    ...(dict && dict.length > 0 ? { dictionary: dict } : {}),
  });
  const parts: Uint8Array[] = [];
  let total = 0;
  deflate.onData = (chunk: Uint8Array) => {
    parts.push(chunk);
    total += chunk.length;
  };
  deflate.onEnd = () => {};
  deflate.push(data, last ? Z_FINISH : Z_SYNC_FLUSH);
  if (deflate.err) throw new Error(`deflate failed: ${deflate.msg}`);
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
