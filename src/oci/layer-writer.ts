/**
 * writeLayer: LayerEntry values → a compressed layer blob in the store,
 * with its diffId hashed from the tar bytes as they stream past.
 */
import { PassThrough } from "node:stream";
import { pipeline } from "node:stream/promises";
import { LadingError } from "../errors.js";
import type { Store } from "../store/store.js";
import { HashingStream } from "./digest.js";
import { createCompressor } from "./compress.js";
import type { LayerEntry } from "./layer-entry.js";
import { layerMediaType } from "./mediatypes.js";
import { tarStream } from "./tar-writer.js";
import type { LayerRef } from "./types.js";

export interface WriteLayerOptions {
  /** Default "gzip". */
  compression?: "gzip" | "zstd" | "none";
  /** Layer media type flavour; default "OCI". */
  mediaTypes?: "OCI" | "Docker";
  /** See TarOptions.sourceDateEpoch. */
  sourceDateEpoch?: number;
  /** Sort entries by path (default true). */
  sort?: boolean;
  signal?: AbortSignal;
}

/**
 * Writes `entries` as one layer blob into `store` and returns its descriptor
 * and diffId. Tar, hashing, compression and the store write run as one
 * streaming pipeline; on failure nothing is stored (the store's temp file is
 * removed) and the error is the first cause (INVALID_ARGUMENT for bad
 * entries, NO_SPACE, CANCELLED on abort).
 */
export async function writeLayer(
  store: Store,
  entries: Iterable<LayerEntry> | AsyncIterable<LayerEntry>,
  opts: WriteLayerOptions = {},
): Promise<LayerRef> {
  const compression = opts.compression ?? "gzip";
  const mediaType = layerMediaType(compression, opts.mediaTypes ?? "OCI");
  const tar = tarStream(entries, { sourceDateEpoch: opts.sourceDateEpoch, sort: opts.sort });
  const diffHasher = new HashingStream();
  const out = new PassThrough();
  const stages = compression === "none" ? [tar, diffHasher, out] : [tar, diffHasher, createCompressor(compression), out];
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

function asLayerError(err: unknown, signal: AbortSignal | undefined): Error {
  if (signal?.aborted) return new LadingError("CANCELLED", "writing a layer: cancelled", { cause: err });
  if (err instanceof LadingError) return err;
  return new LadingError("INTERNAL", `writing a layer: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}
