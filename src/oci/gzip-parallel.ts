/**
 * Deterministic, parallel gzip (the pigz scheme, deflate done by libdeflate
 * in WebAssembly: deflate-wasm.ts).
 *
 * Why not node:zlib: Node bundles Chromium's zlib fork, whose matcher uses
 * CPU-dependent code paths, so the same input can compress to different
 * bytes on different machines or Node versions — and a layer's digest is
 * its compressed bytes. WebAssembly runs the same everywhere: the same
 * bytes on every machine.
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
 * Memory is bounded: at most `maxInFlight` blocks (input + output) are held,
 * in one SharedArrayBuffer per stream that the workers read from and write
 * into (no buffer allocated, cloned or transferred per block); the writable
 * side waits for the oldest block before taking more. Each thread reuses one
 * WebAssembly instance (gzip-parallel-block.ts).
 */
import { createHash, type Hash } from "node:crypto";
import { writeSync } from "node:fs";
import { Transform, type TransformCallback } from "node:stream";
import { Worker } from "node:worker_threads";
import { availableParallelism } from "node:os";
import { crc32 } from "node:zlib";
import { LadingError } from "../errors.js";
import type { Digest } from "./digest.js";
import { BLOCK_SIZE, SLOT_SIZE, deflateBlock, slotViews } from "./gzip-parallel-block.js";
import { deflateModule } from "./deflate-wasm.js";
import { crc32Combine } from "./crc32-combine.js";
import type { BlockJob, BlockResult } from "./gzip-parallel-worker.js";

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
  /**
   * Write the output to this file descriptor (blocking writes, straight
   * from the compressing threads' shared memory) instead of passing it on:
   * no copy and no buffer per block.
   */
  fd?: number;
}

export interface SizedDigest {
  digest: Digest;
  size: number;
}

/** A parallel gzip stream; with `digests`, also what it read and wrote. */
export interface ParallelGzipStream extends Transform {
  /** Once the stream has finished: the digests and sizes of its input and output. */
  digests(): { uncompressed: SizedDigest; compressed: SizedDigest };
}

/**
 * The gzip header: no name, mtime 0, no extra flags, OS 255 ("unknown",
 * what Go's compress/gzip writes, as containerd and buildkit do).
 */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);

/**
 * libdeflate's level 5 gives about the size of gzip -6 (measured on /usr/bin,
 * /usr/share/doc and man, node_modules: −0.3% to +1.3%), at ~1.4× the speed
 * of its level 6.
 */
export const DEFAULT_LEVEL = 5;

/**
 * Below this much input the blocks are deflated on this thread: starting
 * workers costs more than it saves.
 */
const INLINE_LIMIT_BLOCKS = 2;

export function createParallelGzip(opts: ParallelGzipOptions = {}): ParallelGzipStream {
  const level = opts.level ?? DEFAULT_LEVEL;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new LadingError("INVALID_ARGUMENT", `gzip level ${level}: use 0–9`);
  const threads = opts.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) throw new LadingError("INVALID_ARGUMENT", `gzip threads ${threads}: use a whole number ≥ 1`);
  return new ParallelGzip(level, threads, opts.digests ?? false, opts.fd);
}

interface Pending {
  job: BlockJob;
  result?: Promise<BlockResult>;
}

class ParallelGzip extends Transform implements ParallelGzipStream {
  private readonly maxInFlight: number;
  private input: Buffer[] = [];
  private inputLength = 0;
  /** Block slots, one per block in flight (see SLOT_SIZE); allocated with the first block. */
  private memory?: SharedArrayBuffer;
  private crc = 0;
  private inSize = 0;
  private outSize = 0;
  private readonly hashes?: { in: Hash; out: Hash };
  private result?: { uncompressed: SizedDigest; compressed: SizedDigest };
  private nextId = 0;
  private readonly queue: Pending[] = [];
  private pool?: WorkerPool;
  /** Blocks of this stream being deflated in workers now. */
  private running = 0;

  constructor(
    private readonly level: number,
    private readonly threads: number,
    digests: boolean,
    private readonly fd: number | undefined,
  ) {
    super({ highWaterMark: BLOCK_SIZE });
    this.maxInFlight = Math.max(INLINE_LIMIT_BLOCKS, threads * 2);
    if (digests) this.hashes = { in: createHash("sha256"), out: createHash("sha256") };
  }

  digests(): { uncompressed: SizedDigest; compressed: SizedDigest } {
    if (!this.result) throw new LadingError("INTERNAL", this.hashes ? "gzip digests asked for before the stream finished" : "gzip stream made without the digests option");
    return this.result;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.inSize += chunk.length;
    this.input.push(chunk);
    this.inputLength += chunk.length;
    // Strictly more than a block: the final block is only known at the end,
    // so a full block is held back until more input proves it is not last.
    this.cutBlocks(false).then(() => cb(), cb);
  }

  override _flush(cb: TransformCallback): void {
    this.cutBlocks(true)
      .then(async () => {
        while (this.queue.length > 0) await this.emitOldest();
        const trailer = Buffer.alloc(8);
        trailer.writeUInt32LE(this.crc >>> 0, 0);
        trailer.writeUInt32LE(this.inSize % 2 ** 32, 4); // ISIZE: the size modulo 2^32
        this.pass(trailer);
        if (this.hashes) {
          this.result = {
            uncompressed: { digest: `sha256:${this.hashes.in.digest("hex")}`, size: this.inSize },
            compressed: { digest: `sha256:${this.hashes.out.digest("hex")}`, size: this.outSize },
          };
        }
      })
      .then(() => cb(), cb);
  }

  private async cutBlocks(final: boolean): Promise<void> {
    while (this.inputLength > BLOCK_SIZE || (final && (this.inputLength > 0 || this.nextId === 0))) {
      const id = this.nextId++;
      // Slot id % maxInFlight last held block id - maxInFlight, already emitted:
      // at most maxInFlight - 1 blocks are queued here (see the wait below).
      const slot = id % this.maxInFlight;
      const length = Math.min(BLOCK_SIZE, this.inputLength);
      this.memory ??= new SharedArrayBuffer(SLOT_SIZE * this.maxInFlight);
      const mem = new Uint8Array(this.memory);
      this.cutInput(mem, slot * SLOT_SIZE, length);
      const last = final && this.inputLength === 0;
      this.queue.push({ job: { id, memory: this.memory, slot, length, last, level: this.level } });
      if (!this.pool && this.queue.length >= INLINE_LIMIT_BLOCKS) this.startPool();
      if (this.pool) this.dispatch();
      while (this.queue.length >= this.maxInFlight) await this.emitOldest();
    }
  }

  /** Moves `n` bytes off the front of the input into `mem` at `at`. */
  private cutInput(mem: Uint8Array, at: number, n: number): void {
    let off = 0;
    while (off < n) {
      const head = this.input[0];
      const take = Math.min(head.length, n - off);
      mem.set(take === head.length ? head : head.subarray(0, take), at + off);
      off += take;
      if (take === head.length) this.input.shift();
      else this.input[0] = head.subarray(take);
    }
    this.inputLength -= n;
  }

  private startPool(): void {
    this.pool = sharedPool(this.threads);
  }

  /** Hands queued blocks to the pool, at most `threads` of this stream's at a time. */
  private dispatch(): void {
    for (const p of this.queue) {
      if (this.running >= this.threads) return;
      if (p.result) continue;
      this.running++;
      p.result = this.pool!.run(p.job).finally(() => {
        this.running--;
        if (this.pool && !this.destroyed) this.dispatch();
      });
      // Awaited in order later; a failure before then must not count as unhandled.
      p.result.catch(() => {});
    }
  }

  private async emitOldest(): Promise<void> {
    const p = this.queue[0];
    if (this.pool && !p.result) this.dispatch();
    const { job } = p;
    const views = slotViews(job.memory, job.slot, job.length);
    let out: Uint8Array;
    let crc: number;
    if (p.result) {
      const r = (await p.result) as Exclude<BlockResult, { error: string }>;
      out = "out" in r ? r.out : views.out.subarray(0, r.outLength);
      crc = r.crc;
    } else {
      crc = crc32(views.data);
      out = deflateBlock(views.data, job.last, job.level);
    }
    this.crc = crc32Combine(this.crc, crc, job.length);
    this.hashes?.in.update(views.data);
    this.queue.shift();
    if (job.id === 0) this.pass(GZIP_HEADER);
    this.pass(out);
  }

  /**
   * Hashes and writes (fd) or passes on (a copy: `bytes` may be a view of
   * memory that a later block overwrites) the next output bytes.
   */
  private pass(bytes: Uint8Array): void {
    this.outSize += bytes.length;
    this.hashes?.out.update(bytes);
    if (this.fd === undefined) {
      this.push(Buffer.from(bytes));
      return;
    }
    for (let at = 0; at < bytes.length; ) at += writeSync(this.fd, bytes, at, bytes.length - at);
  }
}

/**
 * Worker threads shared by all compressors of this process: a worker's
 * start (~30 ms, and its WebAssembly code tiering up) is too much to pay
 * per layer. Workers are unref'd (they never keep the process alive) and end
 * after IDLE_MS without work.
 */
const IDLE_MS = 10_000;
let shared: WorkerPool | undefined;

function sharedPool(size: number): WorkerPool {
  if (!shared || shared.failed) shared = new WorkerPool();
  shared.grow(size);
  return shared;
}

interface Job {
  job: BlockJob;
  resolve: (r: BlockResult) => void;
  reject: (e: Error) => void;
}

class WorkerPool {
  private readonly idle: Worker[] = [];
  private readonly waiting: Job[] = [];
  private readonly busy = new Map<Worker, Job>();
  private readonly all: Worker[] = [];
  private idleTimer?: NodeJS.Timeout;
  failed?: Error;

  grow(size: number): void {
    while (this.all.length < size) {
      // The smallest young generation: a block leaves ~1 KB of garbage (its
      // message and views; the deflate state is reused), so collections stay
      // rare, and each worker's heap stays ~8 MB instead of ~11 MB.
      const w = new Worker(new URL("./gzip-parallel-worker.js", import.meta.url), {
        workerData: { deflateModule: deflateModule() },
        resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 128 },
      });
      w.on("message", (r: BlockResult) => this.done(w, r));
      w.on("error", (err) => this.fail(new LadingError("INTERNAL", `gzip worker failed: ${err.message}`, { cause: err })));
      w.on("exit", (code) => {
        if (this.busy.has(w)) this.fail(new LadingError("INTERNAL", `gzip worker exited with code ${code} during a block`));
      });
      // Unref after the listeners are attached (attaching one refs the port again):
      // an idle worker must never keep the process alive; a busy one is ref'd in pump().
      w.unref();
      this.all.push(w);
      this.idle.push(w);
    }
  }

  run(job: BlockJob): Promise<BlockResult> {
    if (this.failed) return Promise.reject(this.failed);
    clearTimeout(this.idleTimer);
    return new Promise((resolve, reject) => {
      this.waiting.push({ job, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.idle.length > 0 && this.waiting.length > 0) {
      const w = this.idle.pop()!;
      const j = this.waiting.shift()!;
      this.busy.set(w, j);
      w.ref();
      // The block is in shared memory: only its offsets are sent.
      w.postMessage(j.job);
    }
    if (this.busy.size === 0 && this.waiting.length === 0) {
      clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => this.close(), IDLE_MS).unref();
    }
  }

  private done(w: Worker, r: BlockResult): void {
    const j = this.busy.get(w);
    this.busy.delete(w);
    w.unref();
    this.idle.push(w);
    if (j) {
      if ("error" in r) j.reject(new LadingError("INTERNAL", `gzip worker: ${r.error}`));
      else j.resolve(r);
    }
    this.pump();
  }

  private fail(err: Error): void {
    this.failed ??= err;
    for (const j of this.busy.values()) j.reject(err);
    this.busy.clear();
    for (const j of this.waiting.splice(0)) j.reject(err);
    this.close();
  }

  private close(): void {
    if (shared === this) shared = undefined;
    for (const w of this.all.splice(0)) void w.terminate();
    this.idle.length = 0;
  }
}
