/**
 * Layer compression and decompression as stream stages.
 *
 * gzip: deterministic parallel deflate (gzip-parallel.ts): the same bytes
 * on any machine, Node version and thread count. Decompression uses
 * node:zlib — inflating is exact everywhere, only deflating differs.
 *
 * zstd: Node 20's zlib has no zstd, and no npm zstd encoder installs
 * without downloading a prebuilt binary, so the system `zstd` binary runs as
 * a child process. Its output is deterministic for one zstd version and
 * level: `-T<n>` uses zstd's multi-threaded mode, whose output the zstd
 * docs guarantee to be the same for any worker count ≥ 1; input from a pipe
 * has no size hint, so parameters do not vary with size. The content
 * checksum stays on (as containerd's encoder writes it): it is computed
 * from the content, so it costs no determinism and lets readers catch
 * corruption. Different zstd versions may compress differently; gzip is the
 * default because its bytes are pinned by the code here.
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { availableParallelism } from "node:os";
import { PassThrough, Transform, type Readable, type TransformCallback, type Writable } from "node:stream";
import { createGunzip } from "node:zlib";
import { LadingError } from "../errors.js";
import { sniffStreamCompression } from "../fsutil/archive-sniff.js";
import { DEFAULT_LEVEL, createParallelGzip } from "./gzip-parallel.js";

export type CompressionKind = "gzip" | "zstd" | "none";

export interface CompressorOptions {
  /** gzip: libdeflate's 1–9 (default 5, about gzip -6's size); zstd 1–19 (default 3, zstd's own default). */
  level?: number;
  /** Threads to compress with; default the number of CPUs. The output does not depend on it. */
  threads?: number;
}

export function createCompressor(kind: CompressionKind, opts: CompressorOptions = {}): Transform {
  switch (kind) {
    case "none":
      return new PassThrough();
    case "gzip":
      return createParallelGzip({ level: opts.level ?? DEFAULT_LEVEL, threads: opts.threads });
    case "zstd": {
      const level = opts.level ?? 3;
      if (!Number.isInteger(level) || level < 1 || level > 19) throw new LadingError("INVALID_ARGUMENT", `zstd level ${level}: use 1–19`);
      const threads = opts.threads ?? availableParallelism();
      return new ZstdProcess(["-q", "-c", `-${level}`, `-T${threads}`, "--no-progress"], "compressing with zstd");
    }
    default:
      throw new LadingError("INVALID_ARGUMENT", `unknown compression ${JSON.stringify(kind)}: use "gzip", "zstd" or "none"`);
  }
}

export function createDecompressor(kind: CompressionKind): Transform {
  switch (kind) {
    case "none":
      return new PassThrough();
    case "gzip":
      return createGunzip();
    case "zstd":
      return new ZstdProcess(["-q", "-d", "-c", "--no-progress"], "decompressing zstd");
    default:
      throw new LadingError("INVALID_ARGUMENT", `unknown compression ${JSON.stringify(kind)}: use "gzip", "zstd" or "none"`);
  }
}

/** What the first bytes of a blob say it is: gzip (1f 8b), zstd (frame magic 28 b5 2f fd), else none. */
export function sniffCompression(head: Buffer): CompressionKind {
  const kind = sniffStreamCompression(head);
  // bzip2 and xz are no layer compressions: such a blob is read as what it was declared.
  return kind === "gzip" || kind === "zstd" ? kind : "none";
}

/**
 * A Transform backed by a child process: chunks go to its stdin, its stdout
 * comes out. Backpressure both ways; a non-zero exit or a missing binary is
 * an error; destroying the stream kills the child (by its own handle).
 */
class ZstdProcess extends Transform {
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private stderr = "";
  private exited?: { code: number | null; signal: NodeJS.Signals | null };
  private onExit?: () => void;

  constructor(
    args: string[],
    private readonly what: string,
  ) {
    super();
    this.child = spawn("zstd", args, { stdio: ["pipe", "pipe", "pipe"] });
    this.child.on("error", (err: NodeJS.ErrnoException) => {
      const msg = err.code === "ENOENT" ? `${what}: the zstd program is not installed (install the "zstd" package, or use gzip)` : `${what}: ${err.message}`;
      this.destroy(new LadingError(err.code === "ENOENT" ? "UNSUPPORTED" : "INTERNAL", msg, { cause: err }));
    });
    this.child.stderr.on("data", (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4096);
    });
    this.child.stdout.on("data", (d: Buffer) => {
      if (!this.push(d)) this.child.stdout.pause();
    });
    // EPIPE on stdin means the child died; its exit status says why.
    this.child.stdin.on("error", () => {});
    this.child.on("close", (code, signal) => {
      this.exited = { code, signal };
      this.onExit?.();
    });
  }

  override _read(size: number): void {
    this.child.stdout.resume();
    super._read(size);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.exited) return cb(this.failure());
    if (this.child.stdin.write(chunk)) cb();
    else {
      // Wait for room, or for the child to die (then no drain ever comes).
      const onDrain = () => {
        this.child.off("close", onClose);
        cb();
      };
      const onClose = () => {
        this.child.stdin.off("drain", onDrain);
        cb(this.failure());
      };
      this.child.stdin.once("drain", onDrain);
      this.child.once("close", onClose);
    }
  }

  override _flush(cb: TransformCallback): void {
    const finish = () => {
      if (this.exited!.code === 0) cb();
      else cb(this.failure());
    };
    this.child.stdin.end();
    if (this.exited) finish();
    else this.onExit = finish;
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    if (!this.exited) this.child.kill("SIGKILL");
    cb(err);
  }

  private failure(): LadingError {
    const how = this.exited?.signal ? `was killed by ${this.exited.signal}` : `exited with code ${this.exited?.code}`;
    return new LadingError(this.what.startsWith("decompress") ? "INVALID_IMAGE" : "INTERNAL", `${this.what}: zstd ${how}${this.stderr ? ": " + this.stderr.trim() : ""}`);
  }
}
