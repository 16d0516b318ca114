import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { LadingError } from "../errors.js";

/** A content digest, `sha256:<64 lowercase hex>`. */
export type Digest = `sha256:${string}`;

const SHA256_RE = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: unknown): s is Digest {
  return typeof s === "string" && SHA256_RE.test(s);
}

export function assertDigest(s: unknown, what = "digest"): Digest {
  if (!isDigest(s)) {
    throw new LadingError("INVALID_ARGUMENT", `invalid ${what} ${JSON.stringify(s)}: expected sha256:<64 lowercase hex>`);
  }
  return s;
}

export function sha256(data: string | Uint8Array): Digest {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export function hexOf(d: Digest): string {
  return d.slice("sha256:".length);
}

/**
 * A pass-through stream that hashes and counts what flows through it.
 * Read `digest()` and `size` only after the stream has ended.
 */
export class HashingStream extends Transform {
  private readonly hash: Hash = createHash("sha256");
  size = 0;
  private final?: Digest;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }
  digest(): Digest {
    this.final ??= `sha256:${this.hash.digest("hex")}`;
    return this.final;
  }
}

/** ChainID per the image spec: ChainID(L0..n) = sha256(ChainID(L0..n-1) + " " + DiffID(Ln)). */
export function chainIds(diffIds: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : sha256(`${out[out.length - 1]} ${d}`));
  return out;
}
