/**
 * The compressing threads of gzip-parallel.ts: one pool per process, shared
 * by every stream, each thread deflating one block at a time.
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

export class WorkerPool {
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
      // A block's own failure (a host file it read changed, say) keeps its code and words.
      if ("error" in r) j.reject(new LadingError((r.code as LadingErrorCode | undefined) ?? "INTERNAL", r.code ? r.error : `gzip worker: ${r.error}`));
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
