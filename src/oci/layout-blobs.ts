/**
 * Blobs read in place from an OCI layout folder, verified against their
 * names while they are read: what lets `push oci:DIR` upload straight from
 * the layout instead of copying every layer into the store first (a read,
 * a hash and a write of the whole image, then a second read to upload).
 *
 * Nothing unverified reaches its reader whole. A stream holds its last
 * chunk back until the digest of everything before it matched: on a
 * mismatch the stream fails instead of ending, so an upload of a corrupt
 * blob never completes. Ranges (chunked uploads) are verified as one
 * running hash while they come in order, the usual case; a range out of
 * order (a retried chunk) first has the whole blob checked.
 */
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { Transform, type Readable, type TransformCallback } from "node:stream";
import { createHash, type Hash } from "node:crypto";
import { LadingError } from "../errors.js";
import { sha256, type Digest } from "./digest.js";
import type { OpenBlobOpts } from "./blob-store.js";

interface Progress {
  /** Bytes hashed so far, in order from 0; undefined once the sequence broke. */
  offset?: number;
  hash?: Hash;
  verified: boolean;
}

export class LayoutBlobs {
  private readonly progress = new Map<Digest, Progress>();

  /** `dir` is an OCI layout; `where` names it in messages (`oci:/path`). */
  constructor(
    readonly dir: string,
    readonly where: string,
  ) {}

  path(digest: Digest): string {
    return join(this.dir, "blobs", "sha256", digest.slice("sha256:".length));
  }

  async size(digest: Digest): Promise<number | undefined> {
    try {
      return (await stat(this.path(digest))).size;
    } catch {
      return undefined;
    }
  }

  async read(digest: Digest): Promise<Buffer> {
    const buf = await readFile(this.path(digest)).catch((err) => {
      throw this.missing(digest, err);
    });
    const got = sha256(buf);
    if (got !== digest) throw this.corrupt(digest, `its bytes hash to ${got}`);
    return buf;
  }

  open(digest: Digest, size: number, opts: OpenBlobOpts = {}): Readable {
    const start = opts.start ?? 0;
    const end = opts.end ?? size - 1;
    const hwm = opts.chunkSize ? { highWaterMark: opts.chunkSize } : {};
    let p = this.progress.get(digest);
    if (!p) this.progress.set(digest, (p = { offset: 0, hash: createHash("sha256"), verified: false }));
    const file = () => {
      const rs = createReadStream(this.path(digest), { start, end, ...hwm });
      rs.on("error", (err) => out.destroy(this.missing(digest, err)));
      return rs;
    };
    let out: Transform;
    if (p.verified || size === 0) {
      out = new Transform({ ...hwm, transform: (c, _e, cb) => cb(null, c) });
      if (size === 0) this.verifyEmpty(digest, out);
      else file().pipe(out);
      return out;
    }
    if (start === p.offset && p.hash) {
      out = this.inOrder(digest, p, start, end, size, hwm);
      file().pipe(out);
      return out;
    }
    // Out of order: check the whole blob, then give the range.
    p.offset = undefined;
    p.hash = undefined;
    out = new Transform({ ...hwm, transform: (c, _e, cb) => cb(null, c) });
    this.checkWhole(digest).then(
      () => {
        p.verified = true;
        file().pipe(out);
      },
      (err) => out.destroy(err),
    );
    return out;
  }

  /** Bytes `start..end` continuing the running hash; the blob's last range is held back until the whole digest matched. */
  private inOrder(digest: Digest, p: Progress, start: number, end: number, size: number, hwm: { highWaterMark?: number }): Transform {
    const last = end + 1 >= size;
    let held: Buffer | undefined;
    let seen = 0;
    const broken = () => {
      p.offset = undefined;
      p.hash = undefined;
    };
    const out = new Transform({
      ...hwm,
      transform: (chunk: Buffer, _e, cb: TransformCallback) => {
        p.hash!.update(chunk);
        seen += chunk.length;
        if (!last) return cb(null, chunk);
        const prev = held;
        held = chunk;
        cb(null, prev);
      },
      flush: (cb: TransformCallback) => {
        if (seen !== end - start + 1) {
          broken();
          return cb(this.corrupt(digest, `it ended at byte ${start + seen}, its descriptor says ${size} bytes`));
        }
        if (!last) {
          p.offset = end + 1;
          return cb();
        }
        const got = `sha256:${p.hash!.digest("hex")}` as Digest;
        p.hash = undefined;
        p.offset = undefined;
        if (got !== digest) return cb(this.corrupt(digest, `its bytes hash to ${got}`));
        p.verified = true;
        cb(null, held);
      },
    });
    // A reader that stops half-way leaves the running hash in an unknown state.
    out.on("close", () => {
      if (!out.writableFinished) broken();
    });
    return out;
  }

  private async checkWhole(digest: Digest): Promise<void> {
    const h = createHash("sha256");
    try {
      for await (const c of createReadStream(this.path(digest), { highWaterMark: 1 << 20 })) h.update(c as Buffer);
    } catch (err) {
      throw this.missing(digest, err);
    }
    const got = `sha256:${h.digest("hex")}` as Digest;
    if (got !== digest) throw this.corrupt(digest, `its bytes hash to ${got}`);
  }

  private verifyEmpty(digest: Digest, out: Transform): void {
    const got = sha256(Buffer.alloc(0));
    if (got !== digest) out.destroy(this.corrupt(digest, "it is empty"));
    else out.end();
  }

  private missing(digest: Digest, err: unknown): Error {
    if ((err as NodeJS.ErrnoException)?.code === "ENOENT") return new LadingError("INVALID_IMAGE", `${this.where}: blob ${digest} is referenced but missing`, { cause: err });
    return err as Error;
  }

  private corrupt(digest: Digest, why: string): LadingError {
    return new LadingError("DIGEST_MISMATCH", `${this.where}: blob ${digest} is corrupt (${why}); the layout is damaged: copy it again from where it came from`);
  }
}
