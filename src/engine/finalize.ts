/**
 * Turns an evaluated container into stored config and manifest blobs, in
 * the media types and compression asked for.
 */
import { LadingError } from "../errors.js";
import { HashingStream, sha256, type Digest } from "../oci/digest.js";
import { layerCompression, layerMediaType } from "../oci/mediatypes.js";
import { writeImage, type BuiltImage } from "../oci/image-builder.js";
import type { LayerRef } from "../oci/types.js";
import type { ImageState } from "./image-state.js";
import type { Session } from "./session.js";
import { ensureLayers } from "./registry-cache/lazy.js";

export interface FinalizeOptions {
  mediaTypes?: "OCI" | "Docker";
  forcedCompression?: "Gzip" | "Zstd" | "Uncompressed";
  /** Extra manifest annotations (beside those set with withAnnotation). */
  annotations?: Record<string, string>;
}

export async function finalizeImage(session: Session, state: ImageState, opts: FinalizeOptions = {}): Promise<BuiltImage> {
  const flavour = opts.mediaTypes ?? session.config.mediaTypes;
  if (state.pristine && !opts.forcedCompression && !opts.annotations && (!opts.mediaTypes || isFlavour(state.pristine.mediaType, opts.mediaTypes))) {
    const manifestBytes = await session.store.readBlob(state.pristine.digest);
    const m = JSON.parse(manifestBytes.toString("utf8")) as { config: BuiltImage["config"]; annotations?: Record<string, string> };
    // The descriptor carries the manifest's annotations, as it does for an image lading wrote.
    const manifest = m.annotations && Object.keys(m.annotations).length > 0 ? { ...state.pristine, annotations: { ...m.annotations } } : state.pristine;
    return { manifest, manifestBytes, config: m.config };
  }
  const want = opts.forcedCompression ? ({ Gzip: "gzip", Zstd: "zstd", Uncompressed: "none" } as const)[opts.forcedCompression] : undefined;
  if (flavour === "Docker" && want === "zstd") throw new LadingError("INVALID_ARGUMENT", "docker media types have no zstd layer type; use mediaTypes: \"OCI\" for zstd");
  const layers: LayerRef[] = [];
  for (const l of state.layers) {
    let layer = l;
    const have = layerCompression(l.descriptor.mediaType);
    if (want && want !== have) layer = await recompress(session, l, want);
    const mt = layerMediaType(layerCompression(layer.descriptor.mediaType), flavour);
    layers.push({ diffId: layer.diffId, descriptor: { mediaType: mt, digest: layer.descriptor.digest, size: layer.descriptor.size } });
  }
  const annotations: Record<string, string> = { ...state.annotations, ...opts.annotations };
  if (state.base && !state.base.name.startsWith("oci") && !state.base.name.startsWith("/")) {
    annotations["org.opencontainers.image.base.name"] ??= state.base.name;
    annotations["org.opencontainers.image.base.digest"] ??= state.base.digest;
  }
  return writeImage(session.store, {
    platform: state.platform,
    created: state.layers.length === 0 && !state.created ? undefined : new Date((session.config.sourceDateEpoch ?? 0) * 1000).toISOString().replace(/\.000Z$/, "Z"),
    ...(state.author !== undefined ? { author: state.author } : {}),
    config: state.config,
    layers,
    history: state.history,
    annotations,
    mediaTypes: flavour,
  });
}

/** Re-encodes a layer (same diffId, new blob), cached by (source digest, target compression). */
async function recompress(session: Session, layer: LayerRef, to: "gzip" | "zstd" | "none"): Promise<LayerRef> {
  const key = sha256(`recompress:${layer.descriptor.digest}:${to}`) as Digest;
  const hit = await session.store.getCached<{ layer: LayerRef }>(key);
  if (hit && (await session.store.claimBlob(hit.layer.descriptor.digest))) return hit.layer;
  await ensureLayers(session, [layer]);
  const { createCompressor, createDecompressor } = await import("../oci/compress.js");
  const from = layerCompression(layer.descriptor.mediaType);
  const diff = new HashingStream();
  const compressor = createCompressor(to);
  const stages: NodeJS.ReadWriteStream[] = [session.store.openBlob(layer.descriptor.digest) as unknown as NodeJS.ReadWriteStream, createDecompressor(from), diff, compressor];
  for (let i = 0; i < stages.length - 1; i++) {
    stages[i]!.on("error", (e: Error) => compressor.destroy(e));
    stages[i]!.pipe(stages[i + 1]!);
  }
  const stored = session.store.putBlob(compressor);
  const info = await stored;
  if (diff.digest() !== layer.diffId) throw new LadingError("DIGEST_MISMATCH", `layer ${layer.descriptor.digest} does not decompress to its diff_id ${layer.diffId}`);
  const out: LayerRef = { diffId: layer.diffId, descriptor: { mediaType: layerMediaType(to, "OCI"), digest: info.digest, size: info.size } };
  await session.store.putCached(key, { layer: out });
  return out;
}

export function isFlavour(manifestType: string, flavour: "OCI" | "Docker"): boolean {
  return flavour === "Docker" ? manifestType.includes("docker") : !manifestType.includes("docker");
}
