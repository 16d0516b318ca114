/**
 * Layer compression. Placeholder-free first version: gzip through pako in
 * one stream (deterministic: pure JS, no CPU-dependent code paths).
 */
import { Transform, type TransformCallback } from "node:stream";
import { spawn } from "node:child_process";
import { Duplex } from "node:stream";
import pako from "pako";
import { createGunzip } from "node:zlib";
import { LadingError } from "../errors.js";

export type CompressionKind = "gzip" | "zstd" | "none";

export function createCompressor(kind: CompressionKind, opts: { level?: number; threads?: number } = {}): Transform {
  if (kind === "none") return new Transform({ transform: (c, _e, cb) => cb(null, c) });
  if (kind === "gzip") return new PakoGzip(opts.level ?? 6);
  return zstdProcess(["-q", "-c", `-${opts.level ?? 3}`, "--no-check"]) as unknown as Transform;
}

export function createDecompressor(kind: CompressionKind): Transform {
  if (kind === "none") return new Transform({ transform: (c, _e, cb) => cb(null, c) });
  if (kind === "gzip") return createGunzip();
  return zstdProcess(["-q", "-d", "-c"]) as unknown as Transform;
}

export function sniffCompression(head: Buffer): CompressionKind {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return "zstd";
  return "none";
}

class PakoGzip extends Transform {
  private readonly deflate: pako.Deflate;
  constructor(level: number) {
    super();
    this.deflate = new pako.Deflate({ level: level as pako.DeflateFunctionOptions["level"], gzip: true, header: { os: 255, time: 0 } as never });
    this.deflate.onData = (chunk: Uint8Array) => this.push(Buffer.from(chunk));
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.deflate.push(chunk, false);
    cb(this.deflate.err ? new LadingError("INTERNAL", `gzip: ${this.deflate.msg}`) : null);
  }
  override _flush(cb: TransformCallback): void {
    this.deflate.push(new Uint8Array(0), true);
    cb(this.deflate.err ? new LadingError("INTERNAL", `gzip: ${this.deflate.msg}`) : null);
  }
}

function zstdProcess(args: string[]): Duplex {
  const child = spawn("zstd", args, { stdio: ["pipe", "pipe", "pipe"] });
  return Duplex.from({ writable: child.stdin, readable: child.stdout });
}
