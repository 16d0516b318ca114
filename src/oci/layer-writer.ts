/**
 * writeLayer: LayerEntry values → a compressed layer blob in the store,
 * with its diffId hashed from the tar bytes as they stream past.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { rm } from "node:fs/promises";
import { PassThrough } from "node:stream";
import { pipeline } from "node:stream/promises";
import { LadingError, wrapFsError } from "../errors.js";
import { EarlyFlush } from "../fsutil/early-flush.js";
import type { BlobWriter } from "./blob-store.js";
import { HashingStream, type Digest } from "./digest.js";
import { GzipBlocks, type GzipDigests } from "./gzip-blocks.js";
import { gzipSettings } from "./gzip-parallel.js";
import type { LayerEntry } from "./layer-entry.js";
import { layerMediaType } from "./mediatypes.js";
import { tarPieces, tarStream, type TarPiece } from "./tar-writer.js";
import type { LayerRef } from "./types.js";

export interface WriteLayerOptions {
  /** Default "gzip". */
  compression?: "gzip" | "zstd" | "none";
  /** Layer media type flavour; default "OCI". */
  mediaTypes?: "OCI" | "Docker";
  /** See TarOptions.sourceDateEpoch. */
  sourceDateEpoch?: number;
  /** See TarOptions.clampMtime. */
  clampMtime?: boolean;
  /** Sort entries by path (default true); see TarOptions.sort. */
  sort?: boolean | "presorted";
  signal?: AbortSignal;
  /**
   * Takes the sha256 of the bytes of each entry with a hostPath, in entry
   * order, as they are read for the layer: a caller that keys the content
   * by file then needs no read of its own.
   */
  onFileDigest?: (digest: Digest) => void;
}

/**
 * Writes `entries` as one layer blob into `store` and returns its descriptor
 * and diffId. Tar, hashing, compression and the store write run as one
 * streaming pipeline; on failure nothing is stored (the store's temp file is
 * removed) and the error is the first cause (INVALID_ARGUMENT for bad
 * entries, NO_SPACE, CANCELLED on abort).
 */
export async function writeLayer(
  store: BlobWriter,
  entries: Iterable<LayerEntry> | AsyncIterable<LayerEntry>,
  opts: WriteLayerOptions = {},
): Promise<LayerRef> {
  const compression = opts.compression ?? "gzip";
  const mediaType = layerMediaType(compression, opts.mediaTypes ?? "OCI");
  const tarOpts = { sourceDateEpoch: opts.sourceDateEpoch, clampMtime: opts.clampMtime, sort: opts.sort };
  if (compression === "gzip") return writeGzipLayer(store, tarPieces(entries, tarOpts), mediaType, opts.signal, opts.onFileDigest);
  const tar = tarStream(entries, tarOpts, opts.onFileDigest);
  const diffHasher = new HashingStream();
  const out = new PassThrough();
  // compress.ts (zstd through a child process, the sniffers) is loaded only for the layers that need it.
  const stages = compression === "none" ? [tar, diffHasher, out] : [tar, diffHasher, (await import("./compress.js")).createCompressor(compression), out];
  const produced = pipeline(stages as [typeof tar, ...NodeJS.ReadWriteStream[]], opts.signal ? { signal: opts.signal } : {});
  const stored = store.putBlob(out, undefined, opts.signal);
  const [p, s] = await Promise.allSettled([produced, stored]);
  // When one side fails the other sees a premature close; report the cause.
  if (p.status === "rejected" && (p.reason instanceof LadingError || s.status === "fulfilled")) throw asLayerError(p.reason, opts.signal);
  if (s.status === "rejected") throw asLayerError(s.reason, opts.signal);
  if (p.status === "rejected") throw asLayerError(p.reason, opts.signal);
  const diffId = diffHasher.digest();
  return { descriptor: { mediaType, digest: s.value.digest, size: s.value.size }, diffId };
}

/**
 * gzip: the tar goes into the compressor's blocks as pieces: headers are
 * copied in, host files are read by the threads that compress their blocks
 * (the main thread never touches their bytes). The compressor hashes what
 * it takes and gives, and its output is written to the temp file straight
 * from the threads' shared memory; the file is then adopted into the store
 * without being read again.
 */
async function writeGzipLayer(store: BlobWriter, tar: AsyncIterable<TarPiece[]>, mediaType: string, signal: AbortSignal | undefined, fileDigests: ((d: Digest) => void) | undefined): Promise<LayerRef> {
  const tmp = store.tempPath("blob");
  let fd: number | undefined;
  let flush: EarlyFlush | undefined;
  let written: GzipDigests;
  try {
    fd = openSync(tmp, "wx", 0o444);
    flush = new EarlyFlush(fd);
    written = await gzipTar(tar, fd, flush, signal, fileDigests);
  } catch (err) {
    await flush?.settled();
    if (fd !== undefined) closeSync(fd);
    await rm(tmp, { force: true });
    throw asLayerError(wrapFsError("writing a layer", err), signal);
  }
  await flush.settled();
  closeSync(fd);
  try {
    const stored = await store.adoptFile(tmp, written.compressed);
    return { descriptor: { mediaType, digest: stored.digest, size: stored.size }, diffId: written.uncompressed.digest };
  } catch (err) {
    throw asLayerError(err, signal);
  }
}

async function gzipTar(tar: AsyncIterable<TarPiece[]>, fd: number, flush: EarlyFlush, signal: AbortSignal | undefined, fileDigests: ((d: Digest) => void) | undefined): Promise<GzipDigests> {
  const blocks = new GzipBlocks({
    ...gzipSettings({}),
    digests: true,
    fileDigests,
    output: (bytes) => {
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
      flush.wrote(bytes.length);
    },
  });
  try {
    for await (const pieces of tar) {
      signal?.throwIfAborted();
      for (const p of pieces) {
        const wait = Buffer.isBuffer(p) ? blocks.write(p) : blocks.readHost(p.entry, p.size);
        if (wait) {
          await wait;
          signal?.throwIfAborted();
        }
      }
    }
    return (await blocks.finish())!;
  } catch (err) {
    blocks.abort();
    throw err;
  }
}

function asLayerError(err: unknown, signal: AbortSignal | undefined): Error {
  if (signal?.aborted) return new LadingError("CANCELLED", "writing a layer: cancelled", { cause: err });
  if (err instanceof LadingError) return err;
  return new LadingError("INTERNAL", `writing a layer: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}
