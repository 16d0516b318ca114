/**
 * Deterministic, parallel gzip (the pigz scheme, deflate done by pako).
 *
 * Why not node:zlib: Node bundles Chromium's zlib fork, whose matcher uses
 * CPU-dependent code paths, so the same input can compress to different
 * bytes on different machines or Node versions — and a layer's digest is
 * its compressed bytes. pako is zlib's algorithm in plain JS: the same
 * bytes everywhere.
 *
 * Why blocks: the input is cut at fixed 128 KiB offsets; each block is
 * deflated on its own (in worker threads) with the preceding 32 KiB as
 * dictionary and a sync flush at its end, and the pieces are joined into
 * ONE gzip member whose crc32 and size are computed here, in input order.
 * Block boundaries depend only on byte offsets, so the output is the same
 * for any thread count and any chunking of the input. The cost is a few
 * bytes per block (the flush marker) and matches that cannot reach across
 * a boundary beyond the dictionary: ~0.1–0.5% larger than one-stream gzip.
 *
 * Memory is bounded: at most `maxInFlight` blocks (input + output) are held;
 * the writable side waits for the oldest block before taking more.
 */
import { Transform, type TransformCallback } from "node:stream";
import { Worker } from "node:worker_threads";
import { availableParallelism } from "node:os";
import { crc32 } from "node:zlib";
import { LadingError } from "../errors.js";
import { BLOCK_SIZE, DICT_SIZE, deflateBlock } from "./gzip-parallel-block.js";
import type { BlockJob, BlockResult } from "./gzip-parallel-worker.js";

export interface ParallelGzipOptions {
  /** Deflate level 1–9; default 6 (gzip's default). */
  level?: number;
  /** Worker threads; default the number of CPUs. Does not change the output. */
  threads?: number;
}

/**
 * The gzip header: no name, mtime 0, no extra flags, OS 255 ("unknown",
 * what Go's compress/gzip writes, as containerd and buildkit do).
 */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);

/**
 * Below this much input the blocks are deflated on this thread: starting
 * workers costs more than it saves.
 */
const INLINE_LIMIT_BLOCKS = 8;

export function createParallelGzip(opts: ParallelGzipOptions = {}): Transform {
  const level = opts.level ?? 6;
  if (!Number.isInteger(level) || level < 0 || level > 9) throw new LadingError("INVALID_ARGUMENT", `gzip level ${level}: use 0–9`);
  const threads = opts.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) throw new LadingError("INVALID_ARGUMENT", `gzip threads ${threads}: use a whole number ≥ 1`);
  return new ParallelGzip(level, threads);
}

interface Pending {
  job: BlockJob;
  result?: Promise<Uint8Array>;
}

class ParallelGzip extends Transform {
  private readonly maxInFlight: number;
  private input: Buffer[] = [];
  private inputLength = 0;
  /** The last DICT_SIZE bytes of input already cut into blocks. */
  private window: Buffer = Buffer.alloc(0);
  private crc = 0;
  private isize = 0;
  private nextId = 0;
  private readonly queue: Pending[] = [];
  private pool?: WorkerPool;
  private headerSent = false;
  /** Blocks of this stream being deflated in workers now. */
  private running = 0;

  constructor(
    private readonly level: number,
    private readonly threads: number,
  ) {
    super({ highWaterMark: BLOCK_SIZE });
    this.maxInFlight = Math.max(INLINE_LIMIT_BLOCKS, threads * 2);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.crc = crc32(chunk, this.crc);
    this.isize = (this.isize + chunk.length) >>> 0; // ISIZE is the size modulo 2^32
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
        trailer.writeUInt32LE(this.isize, 4);
        this.push(trailer);
      })
      .then(() => cb(), cb);
  }

  private async cutBlocks(final: boolean): Promise<void> {
    while (this.inputLength > BLOCK_SIZE || (final && (this.inputLength > 0 || this.nextId === 0))) {
      const data = this.cutInput(Math.min(BLOCK_SIZE, this.inputLength));
      const last = final && this.inputLength === 0;
      const dict = this.window.length > 0 ? this.window : undefined;
      // A copy: `data`'s memory is transferred to a worker and detached here.
      this.window = Buffer.from(data.length >= DICT_SIZE ? data.subarray(data.length - DICT_SIZE) : Buffer.concat([this.window, data]).subarray(-DICT_SIZE));
      this.queue.push({ job: { id: this.nextId++, data, dict, last, level: this.level } });
      if (!this.pool && this.queue.length >= INLINE_LIMIT_BLOCKS) this.startPool();
      if (this.pool) this.dispatch();
      while (this.queue.length >= this.maxInFlight) await this.emitOldest();
    }
  }

  /** Cuts `n` bytes off the front of the input into one contiguous buffer (one copy). */
  private cutInput(n: number): Buffer {
    // Buffer.alloc gives the block an ArrayBuffer of its own (never Node's
    // shared pool slab), so it can be transferred to a worker.
    const block = Buffer.alloc(n);
    let off = 0;
    while (off < n) {
      const head = this.input[0];
      const take = Math.min(head.length, n - off);
      head.copy(block, off, 0, take);
      off += take;
      if (take === head.length) this.input.shift();
      else this.input[0] = head.subarray(take);
    }
    this.inputLength -= n;
    return block;
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
    const out = p.result ? await p.result : deflateBlock(p.job.data, p.job.dict, p.job.last, p.job.level);
    this.queue.shift();
    if (!this.headerSent) {
      this.push(GZIP_HEADER);
      this.headerSent = true;
    }
    this.push(Buffer.from(out.buffer, out.byteOffset, out.byteLength));
  }
}

/**
 * Worker threads shared by all compressors of this process: a worker costs
 * ~0.3 s of JIT warm-up before pako runs at full speed, too much to pay per
 * layer. Workers are unref'd (they never keep the process alive) and end
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
  resolve: (b: Uint8Array) => void;
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
      // A small young generation: each block allocates ~0.4 MB of short-lived
      // deflate state; collecting it early keeps the worker at a few tens of MB.
      const w = new Worker(new URL("./gzip-parallel-worker.js", import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 128 } });
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

  run(job: BlockJob): Promise<Uint8Array> {
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
      // The block's memory moves to the worker; the dictionary is copied.
      w.postMessage(j.job, [j.job.data.buffer as ArrayBuffer]);
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
      else j.resolve(r.out);
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
