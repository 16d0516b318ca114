/**
 * One pako deflate state, reused for block after block, that compresses
 * exactly as a fresh `new pako.Deflate(...)` would.
 *
 * Why: a fresh pako Deflate allocates ~0.3 MB of typed arrays (window,
 * hash head and chains, pending buffer, output chunks); at a block per few
 * milliseconds that garbage piled up to ~55 MB per worker before V8 freed
 * it (typed-array memory lives outside the young generation a worker's
 * resourceLimits bound).
 *
 * Why not zlib's deflateReset: it keeps the old window and hash-chain
 * contents, and zlib's match finder reads up to 258 bytes past the input's
 * end into them. zlib clips those reads so they should not change the
 * output, but here equality with a fresh Deflate holds by construction
 * instead: every field of the state goes back to what deflateInit2 left —
 * numbers restored, every typed array restored to its initial (zeroed)
 * contents, ~0.3 MB of memset per 128 KiB block. A pako version whose
 * state holds a field of a kind not handled here fails at start-up
 * instead of compressing differently.
 *
 * The output loop copies pako's Deflate.push step for step (the same
 * avail_out at every deflate() call), because zlib's stored blocks are
 * sized by the output space available: only the buffers are reused.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** pako's zlib port: not in its package exports, so loaded by file path (pako is pinned in package-lock). */
interface ZStream {
  input: Uint8Array | null;
  next_in: number;
  avail_in: number;
  total_in: number;
  output: Uint8Array | null;
  next_out: number;
  avail_out: number;
  msg: string;
  state: DeflateState | null;
}
/** The fields of pako's DeflateState that setFullDictionary touches. */
interface DeflateState {
  [field: string]: unknown;
  window: Uint8Array;
  head: Uint16Array;
  prev: Uint16Array;
  w_size: number;
  w_mask: number;
  hash_shift: number;
  hash_mask: number;
  legacy_hash: number;
  ins_h: number;
  strstart: number;
  block_start: number;
  insert: number;
  lookahead: number;
  match_length: number;
  prev_length: number;
  match_available: number;
}
interface PakoZlibDeflate {
  deflateInit2(strm: ZStream, level: number, method: number, windowBits: number, memLevel: number, strategy: number, legacyHash: boolean): number;
  deflateSetDictionary(strm: ZStream, dict: Uint8Array): number;
  deflate(strm: ZStream, flush: number): number;
}
const require = createRequire(import.meta.url);
const pakoDir = dirname(require.resolve("pako"));
const zlib = require(join(pakoDir, "lib/zlib/deflate.js")) as PakoZlibDeflate;
const ZStreamCtor = require(join(pakoDir, "lib/zlib/zstream.js")) as new () => ZStream;

const Z_OK = 0;
const Z_STREAM_END = 1;
/** "No progress possible": pako's push loop meets it after a flush and carries on, so does this. */
const Z_BUF_ERROR = -5;
const Z_SYNC_FLUSH = 2;
const Z_FULL_FLUSH = 3;
const Z_DEFLATED = 8;
const MIN_MATCH = 3;

type Scalar = number | string | boolean | null | undefined;

/** How to put one object (the state, its tree descriptors, the stream) back as it was. */
interface Snapshot {
  target: Record<string, unknown>;
  scalars: Array<[string, Scalar]>;
  /** Arrays whose initial contents are all zero (most of the memory): filled with 0. */
  zeroed: ArrayLike<number>[];
  /** Arrays with other initial contents: copied back. */
  copied: Array<[Uint8Array | Uint16Array | Int32Array, Uint8Array | Uint16Array | Int32Array]>;
}

function snapshot(target: Record<string, unknown>, shared: ReadonlySet<unknown>, nested: (key: string, v: object) => boolean): Snapshot {
  const s: Snapshot = { target, scalars: [], zeroed: [], copied: [] };
  for (const [k, v] of Object.entries(target)) {
    if (v === null || v === undefined || typeof v === "number" || typeof v === "string" || typeof v === "boolean") s.scalars.push([k, v]);
    else if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      const a = v as Uint8Array;
      if (a.every((x) => x === 0)) s.zeroed.push(a);
      else s.copied.push([a, a.slice()]);
    } else if (shared.has(v) || nested(k, v)) continue;
    else throw new Error(`pako deflate state field ${k} is of an unknown kind; this pako version is not supported`);
  }
  return s;
}

function restore(s: Snapshot): void {
  for (const [k, v] of s.scalars) s.target[k] = v;
  for (const a of s.zeroed) (a as Uint8Array).fill(0);
  for (const [a, init] of s.copied) a.set(init as Uint8Array);
}

export class ReusableDeflate {
  private readonly strm: ZStream;
  private readonly snapshots: Snapshot[] = [];
  /** Where the output of all chunks goes, contiguously (pako would allocate a chunk each time). */
  private out: Uint8Array;

  /** Raw deflate (windowBits -15, memLevel 8, default strategy): what gzip-parallel-block uses. */
  constructor(
    level: number,
    private readonly chunkSize: number,
  ) {
    this.strm = new ZStreamCtor();
    // legacyHash: zlib's classic hash, what pako's Deflate uses by default (and what the golden digests were made with).
    const rc = zlib.deflateInit2(this.strm, level, Z_DEFLATED, -15, 8, 0, true);
    if (rc !== Z_OK) throw new Error(`deflateInit2 failed: ${this.strm.msg || rc}`);
    const state = this.strm.state! as Record<string, unknown>;
    // Constant tables shared by every state (static trees) and the back-pointer.
    const shared = new Set<unknown>([this.strm]);
    const descs: Array<Record<string, unknown>> = [];
    this.snapshots.push(
      snapshot(state, shared, (k, v) => {
        // l_desc/d_desc/bl_desc: a tree descriptor holds its tree (one of the
        // state's arrays, restored with the state), a static descriptor and max_code.
        if (k.endsWith("_desc") && "dyn_tree" in v) {
          descs.push(v as Record<string, unknown>);
          return true;
        }
        return false;
      }),
    );
    for (const d of descs) this.snapshots.push(snapshot(d, new Set([d.dyn_tree, d.stat_desc]), () => false));
    this.snapshots.push(snapshot(this.strm as unknown as Record<string, unknown>, new Set([state]), () => false));
    this.out = new Uint8Array(2 * chunkSize);
  }

  /**
   * Deflates `data` (after `dict`, if any) with `flush` (Z_SYNC_FLUSH or
   * Z_FINISH) from a fresh state. The result is a view of an internal
   * buffer, valid until the next call.
   */
  deflate(data: Uint8Array, dict: Uint8Array | undefined, flush: number): Uint8Array {
    for (const s of this.snapshots) restore(s);
    const strm = this.strm;
    if (dict && dict.length === strm.state!.w_size && strm.state!.legacy_hash) setFullDictionary(strm, dict);
    else if (dict && dict.length > 0) {
      const rc = zlib.deflateSetDictionary(strm, dict);
      if (rc !== Z_OK) throw new Error(`deflateSetDictionary failed: ${strm.msg || rc}`);
    }
    strm.input = data;
    strm.next_in = 0;
    strm.avail_in = data.length;
    // Pako's push loop, with its "new chunk" being the next chunkSize bytes of `out`.
    let emitted = 0;
    for (;;) {
      if (strm.avail_out === 0) {
        this.reserve(emitted + this.chunkSize);
        strm.output = this.out;
        strm.next_out = emitted;
        strm.avail_out = this.chunkSize;
      }
      if ((flush === Z_SYNC_FLUSH || flush === Z_FULL_FLUSH) && strm.avail_out <= 6) {
        emitted = strm.next_out;
        strm.avail_out = 0;
        continue;
      }
      const status = zlib.deflate(strm, flush);
      if (status === Z_STREAM_END) {
        emitted = strm.next_out;
        break;
      }
      if (status < 0 && status !== Z_BUF_ERROR) throw new Error(`deflate failed: ${strm.msg || status}`);
      if (strm.avail_out === 0) {
        emitted = strm.next_out;
        continue;
      }
      if (flush > 0 && strm.next_out > emitted) {
        emitted = strm.next_out;
        strm.avail_out = 0;
        continue;
      }
      if (strm.avail_in === 0) break;
    }
    strm.input = null;
    return this.out.subarray(0, emitted);
  }

  /** Grows `out` (keeping its bytes) to hold at least `n`. */
  private reserve(n: number): void {
    if (this.out.length >= n) return;
    const bigger = new Uint8Array(Math.max(n, this.out.length * 2));
    bigger.set(this.out);
    this.out = bigger;
    this.strm.output = bigger;
  }
}

/**
 * pako's deflateSetDictionary for a fresh raw-deflate state and a
 * dictionary exactly one window long (every block's but the first), step
 * for step, minus the window-sized copy pako allocates for that case: 32 KiB
 * of garbage per block that a worker thread otherwise frees only after
 * ~1,000 blocks. What it does, in pako's order: the dictionary is read into
 * the window (fill_window: read_buf, then the hash seeded from its first two
 * bytes), every position but the last two is inserted into the hash chains
 * (INSERT_STRING with zlib's classic hash), and the last two are left to be
 * inserted once input follows. Tests compare the resulting state with
 * pako's field by field.
 */
export function setFullDictionary(strm: ZStream, dict: Uint8Array): void {
  const s = strm.state!;
  const { window, head, prev, w_mask: wmask, hash_shift: shift, hash_mask: mask } = s;
  const n = dict.length;
  window.set(dict, 0);
  strm.total_in += n;
  let h = ((window[0] << shift) ^ window[1]) & mask;
  for (let str = 0; str <= n - MIN_MATCH; str++) {
    h = ((h << shift) ^ window[str + MIN_MATCH - 1]) & mask;
    prev[str & wmask] = head[h];
    head[h] = str;
  }
  s.ins_h = h;
  s.strstart = n;
  s.block_start = n;
  s.insert = MIN_MATCH - 1;
  s.lookahead = 0;
  s.match_length = s.prev_length = MIN_MATCH - 1;
  s.match_available = 0;
}
