/**
 * Hashes files on a worker thread while the caller goes on walking: the
 * walk (lstat, readdir) and the reading and hashing then share the two
 * cores instead of taking turns on one. Files are sent in batches (one
 * message per ~100 files, not per file) and answered in order.
 */
import { Worker } from "node:worker_threads";
import { LadingError, wrapFsError } from "../../errors.js";
import type { Digest } from "../../oci/digest.js";
import { withoutNodeOptions } from "../../oci/gzip-pool.js";
import type { HashBatch, HashResult } from "./hash-worker.js";

/** A batch is sent once it holds this many files … */
const BATCH_FILES = 128;
/** … or this many bytes. */
const BATCH_BYTES = 4 * 1024 * 1024;

export interface PendingDigest {
  batch: Promise<Digest[]>;
  index: number;
}

export class FileHasher {
  private worker?: Worker;
  private nextId = 0;
  private paths: string[] = [];
  private bytes = 0;
  private current?: { promise: Promise<Digest[]>; resolve: (d: Digest[]) => void; reject: (e: Error) => void };
  private readonly waiting = new Map<number, { resolve: (d: Digest[]) => void; reject: (e: Error) => void }>();
  private failed?: Error;

  /** Queues `path` (of `size` bytes); its digest comes with its batch. */
  add(path: string, size: number): PendingDigest {
    if (!this.current) {
      let resolve!: (d: Digest[]) => void;
      let reject!: (e: Error) => void;
      const promise = new Promise<Digest[]>((res, rej) => ((resolve = res), (reject = rej)));
      // Awaited later, in order; a failure must not count as unhandled before then.
      promise.catch(() => {});
      this.current = { promise, resolve, reject };
    }
    const pending = { batch: this.current.promise, index: this.paths.length };
    this.paths.push(path);
    this.bytes += size;
    if (this.paths.length >= BATCH_FILES || this.bytes >= BATCH_BYTES) this.flush();
    return pending;
  }

  /** Sends what is queued. */
  flush(): void {
    if (!this.current) return;
    const { resolve, reject } = this.current;
    const batch: HashBatch = { id: this.nextId++, paths: this.paths };
    this.current = undefined;
    this.paths = [];
    this.bytes = 0;
    if (this.failed) return reject(this.failed);
    this.waiting.set(batch.id, { resolve, reject });
    this.start().postMessage(batch);
  }

  /** Ends the thread (pending batches fail). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.fail(new LadingError("INTERNAL", "the file hasher was closed"));
    await w?.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL("./hash-worker.js", import.meta.url), {
      // None of the host's flags (see oci/gzip-pool.ts: some fail every worker).
      execArgv: [],
      env: withoutNodeOptions(process.env),
      resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 64 },
    });
    w.unref();
    w.on("message", (r: HashResult) => {
      const job = this.waiting.get(r.id);
      this.waiting.delete(r.id);
      if (!job) return;
      if ("digests" in r) job.resolve(r.digests as Digest[]);
      // The thread's fs error, its errno code kept (ENOENT, ENOSPC: what to do differs).
      else job.reject(wrapFsError("hashing a file of the directory", Object.assign(new Error(r.error), r.code ? { code: r.code } : {})));
    });
    w.on("error", (err) => this.fail(err));
    w.on("exit", (code) => this.fail(new LadingError("INTERNAL", `the file hashing thread ended (exit code ${code})`)));
    this.worker = w;
    return w;
  }

  private fail(err: Error): void {
    this.failed ??= err;
    for (const job of this.waiting.values()) job.reject(err);
    this.waiting.clear();
  }
}

