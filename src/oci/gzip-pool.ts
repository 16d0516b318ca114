/**
 * The compressing threads of gzip-parallel.ts: one pool per process, shared
 * by every stream, each thread deflating one block at a time and holding
 * the next in its queue.
 */
import { statSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { LadingError, type LadingErrorCode } from "../errors.js";
import { deflateModule } from "./deflate-wasm.js";
import { nativeDeflate } from "./deflate-native.js";
import type { BlockJob, BlockResult } from "./gzip-parallel-worker.js";

/**
 * Worker threads shared by all compressors of this process: a worker's
 * start (~30 ms, and its WebAssembly code tiering up) is too much to pay
 * per layer. Workers are unref'd (they never keep the process alive) and end
 * after IDLE_MS without work.
 */
const IDLE_MS = 10_000;
let shared: WorkerPool | undefined;

export function sharedPool(size: number): WorkerPool {
  if (!shared || shared.failed) shared = new WorkerPool();
  shared.grow(size);
  return shared;
}

/** A copy of `env` without NODE_OPTIONS, which a worker would parse as its flags. */
export function withoutNodeOptions(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _, ...rest } = env;
  return rest;
}

/**
 * The worker's code: dist/gzip-worker.cjs, the bundle scripts/bundle-cli.mjs
 * makes of gzip-parallel-worker.js (a worker loading ES modules one by one
 * took ~10 ms longer to take its first block, 40–60 ms under load), unless
 * it is missing or older than that module (rebuilt with tsc alone).
 */
function workerCode(): URL {
  const module = new URL("./gzip-parallel-worker.js", import.meta.url);
  const bundled = new URL("../../gzip-worker.cjs", import.meta.url);
  try {
    if (statSync(bundled).mtimeMs >= statSync(module).mtimeMs) return bundled;
  } catch {
    // not bundled
  }
  return module;
}

interface Job {
  job: BlockJob;
  resolve: (r: BlockResult) => void;
  reject: (e: Error) => void;
}

/**
 * Jobs a thread holds at once: the one it works on and the next, already in
 * its port. With one, a thread that finished a block sat idle until the main
 * thread took its result and posted another: ~0.1 s of each thread's 1.1 s
 * on a 197 MB context, the main thread being busy with the tar.
 * A thread's jobs run in the order posted, so a block that waits for its
 * turn on the hash chains (hash-chains.ts) waits only for blocks posted
 * before it, which are ahead of it in their own thread's queue.
 */
export const JOBS_PER_THREAD = 2;

export class WorkerPool {
  private readonly waiting: Job[] = [];
  /** Each thread's jobs in the order they were posted (and are answered). */
  private readonly busy = new Map<Worker, Job[]>();
  private readonly all: Worker[] = [];
  private idleTimer?: NodeJS.Timeout;
  failed?: Error;

  grow(size: number): void {
    while (this.all.length < size) {
      // The smallest young generation: a block leaves ~1 KB of garbage (its
      // message and views; the deflate state is reused), so collections stay
      // rare, and each worker's heap stays ~8 MB instead of ~11 MB.
      const w = new Worker(workerCode(), {
        // The compiled WebAssembly module, unless the native build does the work.
        workerData: { deflateModule: nativeDeflate() ? undefined : deflateModule() },
        resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 128 },
        // None of the host's flags, which a worker inherits by default, from
        // its command line and again from NODE_OPTIONS: some fail every worker
        // (`node --input-type=module -e …`: ERR_INPUT_TYPE_NOT_ALLOWED), others
        // would run again in each (`--import`, `--require` hooks); this
        // worker's plain module needs none.
        execArgv: [],
        env: withoutNodeOptions(process.env),
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
    while (this.waiting.length > 0) {
      const w = this.roomiest();
      if (!w) break;
      const j = this.waiting.shift()!;
      const jobs = this.busy.get(w);
      if (jobs) jobs.push(j);
      else {
        this.busy.set(w, [j]);
        w.ref();
      }
      // The block is in shared memory: only its offsets are sent.
      w.postMessage(j.job);
    }
    if (this.busy.size === 0 && this.waiting.length === 0) {
      clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => this.close(), IDLE_MS).unref();
    }
  }

  /** A thread with nothing to do, else one with room in its queue; undefined when all are full. */
  private roomiest(): Worker | undefined {
    let best: Worker | undefined;
    let least = JOBS_PER_THREAD;
    for (const w of this.all) {
      const n = this.busy.get(w)?.length ?? 0;
      if (n === 0) return w;
      if (n < least) {
        least = n;
        best = w;
      }
    }
    return best;
  }

  private done(w: Worker, r: BlockResult): void {
    const jobs = this.busy.get(w);
    const j = jobs?.shift();
    if (jobs?.length === 0) {
      this.busy.delete(w);
      w.unref();
    }
    if (j) {
      // A block's own failure (a host file it read changed, say) keeps its code and words.
      if ("error" in r) j.reject(new LadingError((r.code as LadingErrorCode | undefined) ?? "INTERNAL", r.code ? r.error : `gzip worker: ${r.error}`));
      else j.resolve(r);
    }
    this.pump();
  }

  private fail(err: Error): void {
    this.failed ??= err;
    for (const jobs of this.busy.values()) for (const j of jobs) j.reject(err);
    this.busy.clear();
    for (const j of this.waiting.splice(0)) j.reject(err);
    this.close();
  }

  private close(): void {
    if (shared === this) shared = undefined;
    for (const w of this.all.splice(0)) void w.terminate();
  }
}
