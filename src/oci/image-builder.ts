/**
 * Builds an image's config and manifest blobs from its parts, in one fixed
 * serialisation so that the same parts always give the same digests.
 */
import type { BlobWriter } from "./blob-store.js";
import { MediaType } from "./mediatypes.js";
import type { Descriptor, HistoryEntry, ImageConfig, ImageManifest, LayerRef, Platform, RuntimeConfig } from "./types.js";

export interface ImageParts {
  platform: Platform;
  created?: string;
  author?: string;
  config: RuntimeConfig;
  layers: readonly LayerRef[];
  history: readonly HistoryEntry[];
  /** Manifest annotations. */
  annotations?: Readonly<Record<string, string>>;
  mediaTypes?: "OCI" | "Docker";
}

export interface BuiltImage {
  manifest: Descriptor;
  manifestBytes: Buffer;
  config: Descriptor;
}

export function imageConfigOf(parts: ImageParts): ImageConfig {
  const cfg: ImageConfig = {
    architecture: parts.platform.architecture,
    os: parts.platform.os,
    ...(parts.platform.variant ? { variant: parts.platform.variant } : {}),
    ...(parts.created ? { created: parts.created } : {}),
    ...(parts.author !== undefined ? { author: parts.author } : {}),
    config: cleanRuntimeConfig(parts.config),
    rootfs: { type: "layers", diff_ids: parts.layers.map((l) => l.diffId) },
    history: [...parts.history],
  };
  return cfg;
}

/** Writes the config and manifest blobs into `store`; returns the manifest's descriptor. */
export async function writeImage(store: BlobWriter, parts: ImageParts): Promise<BuiltImage> {
  const docker = parts.mediaTypes === "Docker";
  const cfg = await store.putJson(imageConfigOf(parts));
  const config: Descriptor = { mediaType: docker ? MediaType.dockerConfig : MediaType.ociConfig, digest: cfg.digest, size: cfg.size };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: docker ? MediaType.dockerManifest : MediaType.ociManifest,
    config,
    layers: parts.layers.map((l) => ({ mediaType: l.descriptor.mediaType, digest: l.descriptor.digest, size: l.descriptor.size })),
  };
  // Docker's schema2 manifest has no annotations field; they live on OCI manifests only.
  if (!docker && parts.annotations && Object.keys(parts.annotations).length > 0) manifest.annotations = { ...parts.annotations };
  const m = await store.putJson(manifest);
  return {
    manifest: {
      mediaType: manifest.mediaType!,
      digest: m.digest,
      size: m.size,
      platform: { ...parts.platform },
      ...(manifest.annotations ? { annotations: { ...manifest.annotations } } : {}),
    },
    manifestBytes: m.bytes,
    config,
  };
}

/** Drops empty fields so images stay small and readers see absent rather than empty. */
function cleanRuntimeConfig(c: RuntimeConfig): RuntimeConfig {
  const out: RuntimeConfig = {};
  for (const [k, v] of Object.entries(c) as Array<[keyof RuntimeConfig, unknown]>) {
    if (v === undefined) continue;
    if (v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    if (Array.isArray(v) && v.length === 0 && (k === "Env" || k === "OnBuild")) continue;
    (out as Record<string, unknown>)[k] = v;
  }
  return out;
}
