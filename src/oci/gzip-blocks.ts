/**
 * The block machinery of parallel gzip (gzip-parallel.ts has the scheme):
 * input goes into fixed 1 MiB blocks in shared memory, worker threads
 * compress them, and the results are joined in order into one gzip member.
 *
 * Input comes two ways: bytes, copied into the open block, and pieces of
 * host files, which the thread compressing a block reads into it itself.
 * A tar of many files thus costs the main thread no file reads: it only
 * places headers, hashes and writes.
 *
 * Memory is bounded: at most `maxInFlight` blocks (input + output) exist,
 * in one SharedArrayBuffer that the threads read from and write into; a
 * new block waits for the oldest to be emitted.
 */
import { createHash, type Hash } from "node:crypto";
import { LadingError } from "../errors.js";
import type { Digest } from "./digest.js";
import { BLOCK_SIZE, HostReads, SLOT_SIZE, compressBlock } from "./gzip-parallel-block.js";
import { crc32Combine } from "./crc32-combine.js";
import { JOBS_PER_THREAD, sharedPool, type WorkerPool } from "./gzip-pool.js";
import { FILES, HashChains, IN, OUT } from "./hash-chains.js";
import type { BlockResult } from "./gzip-parallel-worker.js";
import type { HostFileRef } from "./tar-content.js";

export interface SizedDigest {
  digest: Digest;
  size: number;
}

export interface GzipDigests {
  uncompressed: SizedDigest;
  compressed: SizedDigest;
}

/**
 * The gzip header: no name, mtime 0, no extra flags, OS 255 ("unknown",
 * what Go's compress/gzip writes, as containerd and buildkit do).
 */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);

/**
 * With fewer blocks than this in all, they are compressed on this thread:
 * starting workers costs more than it saves.
 */
const INLINE_LIMIT_BLOCKS = 2;

interface Block {
  id: number;
  slot: number;
  filled: number;
  reads: HostReads;
  /** Set once no more input goes in: then it may be compressed. */
  last?: boolean;
  result?: Promise<BlockResult>;
}

export interface GzipBlocksOptions {
  level: number;
  threads: number;
  /** Hash the input and the output (see finish()). */
  digests: boolean;
  /** Takes each piece of output, in order; it must copy what it keeps (the bytes are reused). */
  output: (bytes: Uint8Array) => void;
  /**
   * Takes the sha256 of each host file's bytes (readHost), in the order the
   * files came, once its last block is done: whoever keys the content by
   * file then needs no read of its own. Files read whole into a block are
   * hashed by the block's thread, the others (spread over blocks) here.
   */
  fileDigests?: (digest: Digest) => void;
}

export class GzipBlocks {
  private readonly maxInFlight: number;
  private memory?: SharedArrayBuffer;
  private bytes?: Uint8Array;
  /** Blocks not yet emitted, oldest first; the last one is open while input comes. */
  private readonly queue: Block[] = [];
  private open?: Block;
  private nextId = 0;
  private crc = 0;
  private inSize = 0;
  private outSize = 0;
  private readonly hashes?: { in: Hash; out: Hash };
  private pool?: WorkerPool;
  /** The file spread over blocks being hashed (fileDigests), when this thread hashes. */
  private spread?: Hash;
  /** The digests, when the compressing threads take them (hash-chains.ts): set with the pool. */
  private chains?: HashChains;
  /** Blocks of this stream being compressed in workers now. */
  private running = 0;
  private aborted = false;

  constructor(private readonly opts: GzipBlocksOptions) {
    // One block open, the rest compressing or queued (JOBS_PER_THREAD a thread) or waiting to be emitted: one slot
    // more kept the payload's pace no better and cost 2 MiB more of a peak RSS that is near 150 MB at 80k files.
    this.maxInFlight = Math.max(INLINE_LIMIT_BLOCKS, opts.threads * JOBS_PER_THREAD + 1);
    if (opts.digests) this.hashes = { in: createHash("sha256"), out: createHash("sha256") };
  }

  /** Copies `data` in. Returns a promise when it had to wait for room: await it before more input. */
  write(data: Uint8Array, from = 0): Promise<void> | undefined {
    while (from < data.length) {
      const wait = this.room();
      if (wait) return wait.then(() => this.write(data, from));
      const b = this.open!;
      const n = Math.min(data.length - from, BLOCK_SIZE - b.filled);
      this.bytes!.set(from === 0 && n === data.length ? data : data.subarray(from, from + n), b.slot * SLOT_SIZE + b.filled);
      b.filled += n;
      from += n;
    }
    return undefined;
  }

  /**
   * Adds the `size` bytes of a host file, read (and checked against `size`)
   * by the threads that compress the blocks they fall in. As write().
   */
  readHost(file: HostFileRef, size: number, pos = 0): Promise<void> | undefined {
    do {
      // An empty file still gets its read: it must exist and still be empty.
      const wait = size === 0 && this.open ? undefined : this.room();
      if (wait) return wait.then(() => this.readHost(file, size, pos));
      const b = this.open!;
      const n = Math.min(size - pos, BLOCK_SIZE - b.filled);
      // Only the names travel to the thread, not the caller's whole entry.
      b.reads.push(file, size, pos, n, b.filled);
      b.filled += n;
      pos += n;
    } while (pos < size);
    return undefined;
  }

  /** Ends the stream: compresses and emits what is held, then the trailer; the digests when asked for. */
  async finish(): Promise<GzipDigests | undefined> {
    if (!this.open) await this.room();
    this.close(this.open!, true);
    this.open = undefined;
    while (this.queue.length > 0) await this.emitOldest();
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(this.crc >>> 0, 0);
    trailer.writeUInt32LE(this.inSize % 2 ** 32, 4); // ISIZE: the size modulo 2^32
    this.pass(trailer);
    if (!this.hashes) return undefined;
    if (this.chains?.broken) throw new LadingError("INTERNAL", "gzip: a block failed, so the stream has no digests");
    return {
      uncompressed: { digest: `sha256:${this.chains ? this.chains.finish(IN) : this.hashes.in.digest("hex")}`, size: this.inSize },
      compressed: { digest: `sha256:${this.chains ? this.chains.finish(OUT, trailer) : this.hashes.out.digest("hex")}`, size: this.outSize },
    };
  }

  /** Stops handing out blocks (the stream failed); blocks already with a thread finish there unread. */
  abort(): void {
    this.aborted = true;
    this.chains?.break();
  }

  /** With the pool, before its first block: the digests go to the compressing threads when the addon is there. */
  private startChains(): void {
    const kept = (this.hashes ? (1 << IN) | (1 << OUT) : 0) | (this.opts.fileDigests ? 1 << FILES : 0);
    if (kept === 0 || !HashChains.available()) return;
    this.chains = new HashChains(this.memory!, { at: SLOT_SIZE * this.maxInFlight, kept, slots: this.maxInFlight, slotSize: SLOT_SIZE, outAt: BLOCK_SIZE });
    this.chains.begin(GZIP_HEADER);
  }

  /**
   * Makes sure an open block has room. A full open block is closed first:
   * more input proves it is not the last. Returns a promise when the
   * oldest block must be emitted before its slot can be used again.
   */
  private room(): Promise<void> | undefined {
    if (this.open && this.open.filled < BLOCK_SIZE) return undefined;
    if (this.aborted) return Promise.reject(new LadingError("INTERNAL", "gzip: input after the stream failed"));
    if (this.open) {
      this.close(this.open, false);
      this.open = undefined;
    }
    if (this.queue.length >= this.maxInFlight) return this.emitOldest().then(() => this.room());
    const id = this.nextId++;
    this.memory ??= new SharedArrayBuffer(SLOT_SIZE * this.maxInFlight + HashChains.bytes(this.maxInFlight));
    this.bytes ??= new Uint8Array(this.memory);
    this.open = { id, slot: id % this.maxInFlight, filled: 0, reads: new HostReads() };
    this.queue.push(this.open);
    return undefined;
  }

  private close(b: Block, last: boolean): void {
    b.last = last;
    this.inSize += b.filled;
    if (!this.pool && !last && this.nextId + 1 >= INLINE_LIMIT_BLOCKS) {
      this.pool = sharedPool(this.opts.threads);
      this.startChains();
    }
    if (this.pool) this.dispatch();
  }

  /** Hands closed blocks to the pool in order, as many of this stream's at a time as the threads can hold. */
  private dispatch(): void {
    for (const b of this.queue) {
      if (this.running >= this.opts.threads * JOBS_PER_THREAD || this.aborted) return;
      if (b.last === undefined) return;
      if (b.result) continue;
      this.running++;
      const job = { id: b.id, memory: this.memory!, slot: b.slot, length: b.filled, last: b.last, level: this.opts.level, reads: b.reads.pack(), hashFiles: this.opts.fileDigests !== undefined, chains: this.chains?.ref };
      b.result = this.pool!.run(job).finally(() => {
        this.running--;
        if (this.pool) this.dispatch();
      });
      // Awaited in order later; a failure before then must not count as unhandled.
      b.result.catch(() => {});
    }
  }

  private async emitOldest(): Promise<void> {
    const b = this.queue[0]!;
    if (this.pool && !b.result) this.dispatch();
    let out: Uint8Array;
    let crc: number;
    let digests: string[] | undefined;
    if (b.result) {
      const r = (await b.result) as Exclude<BlockResult, { error: string }>;
      // Its hashes may still be in the hands of another thread (or offered to whoever comes): done before its slot is reused.
      this.chains?.settle(b.id);
      crc = r.crc;
      digests = r.digests;
      out = "out" in r ? r.out : this.bytes!.subarray(b.slot * SLOT_SIZE + BLOCK_SIZE, b.slot * SLOT_SIZE + BLOCK_SIZE + r.outLength);
    } else {
      // Once the chains exist every block goes to the pool; one left over was never dispatched because the stream failed.
      if (this.chains) throw new LadingError("INTERNAL", "gzip: input after the stream failed");
      ({ crc, out, digests } = compressBlock({ memory: this.memory!, slot: b.slot, length: b.filled, last: b.last!, level: this.opts.level, reads: b.reads, hashFiles: this.opts.fileDigests !== undefined }));
    }
    this.crc = crc32Combine(this.crc, crc, b.filled);
    if (!this.chains) this.hashes?.in.update(this.bytes!.subarray(b.slot * SLOT_SIZE, b.slot * SLOT_SIZE + b.filled));
    if (this.opts.fileDigests) this.giveFileDigests(b, digests ?? []);
    this.queue.shift();
    if (b.id === 0) this.pass(GZIP_HEADER);
    this.pass(out);
  }

  /**
   * The digests of the files that end in block `b` (its memory still holds its input), in order: `whole`, those
   * read whole into it; a spread one's from the chains, or hashed here without them.
   */
  private giveFileDigests(b: Block, whole: readonly string[]): void {
    const { count, nums } = b.reads;
    let next = 0;
    for (let i = 0; i < count; i++) {
      if (b.reads.isWhole(i)) {
        this.opts.fileDigests!(`sha256:${whole[next++]!}`);
        continue;
      }
      const size = nums[4 * i]!;
      const pos = nums[4 * i + 1]!;
      const length = nums[4 * i + 2]!;
      if (this.chains) {
        if (pos + length === size) this.opts.fileDigests!(`sha256:${this.chains.spreadDigest(b.id)}`);
        continue;
      }
      if (pos === 0) this.spread = createHash("sha256");
      const at = b.slot * SLOT_SIZE + nums[4 * i + 3]!;
      this.spread!.update(this.bytes!.subarray(at, at + length));
      if (pos + length === size) this.opts.fileDigests!(`sha256:${this.spread!.digest("hex")}`);
    }
  }

  /** Output, hashed here unless the chains hash it (the header at their start, each block on its thread, the trailer at finish). */
  private pass(bytes: Uint8Array): void {
    this.outSize += bytes.length;
    if (!this.chains) this.hashes?.out.update(bytes);
    this.opts.output(bytes);
  }
}
