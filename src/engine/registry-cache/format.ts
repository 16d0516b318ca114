/**
 * The registry build cache as an OCI artifact (issue 18): one image
 * manifest whose `artifactType` is lading's, whose config is lading's own
 * record list, and whose layers are the blobs the records point at (the
 * steps' layers, and outputs too large to inline). A record is what the
 * local op cache holds for one step, under the same op cache key.
 *
 * A cache is only taken when its format version is this one and its
 * platform is the build's: anything else is ignored, never half-read.
 */
import { isDigest, type Digest } from "../../oci/digest.js";
import type { Descriptor, ImageManifest, LayerRef, Platform } from "../../oci/types.js";

export const CACHE_ARTIFACT_TYPE = "application/vnd.lading.buildcache.v1";
export const CACHE_CONFIG_TYPE = "application/vnd.lading.buildcache.config.v1+json";
/** A step's stdout or stderr too long to inline in the config. */
export const CACHE_OUTPUT_TYPE = "application/vnd.lading.buildcache.output.v1";
/** Bumped whenever records change meaning: a runner with another version ignores the cache. */
export const CACHE_FORMAT_VERSION = 1;
export const VERSION_ANNOTATION = "dev.lading.cache.version";
export const PLATFORM_ANNOTATION = "dev.lading.cache.platform";
export const MODE_ANNOTATION = "dev.lading.cache.mode";
/**
 * Outputs up to this size live in the config; longer ones are blobs, fetched
 * only when their step is taken from the cache. Most RUN output is short,
 * and a blob costs a round trip per step.
 */
export const INLINE_OUTPUT_MAX = 4096;

/** stdout/stderr on the wire: the text itself, or the index of its blob among the manifest's layers. */
export type WireOutput = { text: string } | { blob: number };

export interface WireRecord {
  /** The op cache key (the local store's key for the same step). */
  cacheKey: Digest;
  /** The step's layer: its index among the manifest's layers, and its diff id. */
  layer?: { index: number; diffId: Digest };
  exec?: { exitCode: number; stdout: WireOutput; stderr: WireOutput };
}

export interface CacheConfig {
  formatVersion: number;
  platform: Platform;
  records: WireRecord[];
}

/** A record as read back: descriptors resolved, outputs still to fetch when they are blobs. */
export interface ImportedRecord {
  cacheKey: Digest;
  layer?: LayerRef;
  exec?: { exitCode: number; stdout: string | Descriptor; stderr: string | Descriptor };
}

/** Why a cache artifact is not taken; the message ends the user's notice ("build cache REF is not used: …"). */
export class CacheRejected extends Error {}

/** An index's claim to hold lading caches by platform (what `exportCache` with platform variants pushes). */
export function checkCacheIndex(idx: unknown): void {
  const i = idx as { artifactType?: string; annotations?: Record<string, string> };
  if (i.artifactType !== CACHE_ARTIFACT_TYPE) throw new CacheRejected(`it is not a lading build cache (an index with artifactType ${JSON.stringify(i.artifactType ?? "none")})`);
  const version = i.annotations?.[VERSION_ANNOTATION];
  if (version !== undefined && version !== String(CACHE_FORMAT_VERSION)) throw new CacheRejected(`it has cache format ${version}; this lading reads format ${CACHE_FORMAT_VERSION}`);
}

/** The manifest's claim to be a lading cache, checked before its config is fetched. */
export function checkCacheManifest(m: Partial<ImageManifest> & { artifactType?: string }): void {
  if (m.artifactType !== CACHE_ARTIFACT_TYPE || m.config?.mediaType !== CACHE_CONFIG_TYPE) {
    throw new CacheRejected(`it is not a lading build cache (artifactType ${JSON.stringify(m.artifactType ?? m.config?.mediaType ?? "none")})`);
  }
  const version = m.annotations?.[VERSION_ANNOTATION];
  if (version !== undefined && version !== String(CACHE_FORMAT_VERSION)) {
    throw new CacheRejected(`it has cache format ${version}; this lading reads format ${CACHE_FORMAT_VERSION}`);
  }
  if (!Array.isArray(m.layers)) throw new CacheRejected(`its manifest has no layers list`);
}

/**
 * Reads a cache config against its manifest's layers. Every field is
 * checked: a config that is not exactly what lading writes is refused whole.
 */
export function readCacheConfig(bytes: Buffer, layers: readonly Descriptor[]): { platform: Platform; records: ImportedRecord[] } {
  let cfg: CacheConfig;
  try {
    cfg = JSON.parse(bytes.toString("utf8")) as CacheConfig;
  } catch {
    throw new CacheRejected(`its record list is not JSON`);
  }
  if (!cfg || typeof cfg !== "object") throw new CacheRejected(`its record list is not an object`);
  if (cfg.formatVersion !== CACHE_FORMAT_VERSION) throw new CacheRejected(`it has cache format ${JSON.stringify(cfg.formatVersion)}; this lading reads format ${CACHE_FORMAT_VERSION}`);
  const p = cfg.platform;
  if (!p || typeof p.os !== "string" || typeof p.architecture !== "string" || (p.variant !== undefined && typeof p.variant !== "string")) throw new CacheRejected(`its platform is missing or malformed`);
  if (!Array.isArray(cfg.records)) throw new CacheRejected(`it has no records`);
  const blob = (i: unknown): Descriptor => {
    if (!Number.isInteger(i) || (i as number) < 0 || (i as number) >= layers.length) throw new CacheRejected(`a record points at blob ${JSON.stringify(i)}, which the manifest does not list`);
    const d = layers[i as number]!;
    if (!isDigest(d.digest) || !Number.isInteger(d.size) || d.size < 0) throw new CacheRejected(`blob ${String(i)} has no valid digest or size`);
    return d;
  };
  const output = (o: WireOutput | undefined): string | Descriptor => {
    if (o && typeof (o as { text?: unknown }).text === "string") return (o as { text: string }).text;
    if (o && "blob" in o) return blob(o.blob);
    throw new CacheRejected(`a record has a malformed output`);
  };
  const records = cfg.records.map((r): ImportedRecord => {
    if (!r || !isDigest(r.cacheKey)) throw new CacheRejected(`a record has no valid cache key`);
    let layer: LayerRef | undefined;
    if (r.layer !== undefined) {
      if (!isDigest(r.layer.diffId)) throw new CacheRejected(`a record's layer has no valid diff id`);
      layer = { descriptor: blob(r.layer.index), diffId: r.layer.diffId };
    }
    if (r.exec !== undefined) {
      if (!Number.isInteger(r.exec.exitCode)) throw new CacheRejected(`a record has no valid exit code`);
      return { cacheKey: r.cacheKey, ...(layer ? { layer } : {}), exec: { exitCode: r.exec.exitCode, stdout: output(r.exec.stdout), stderr: output(r.exec.stderr) } };
    }
    if (!layer) throw new CacheRejected(`a record has neither a layer nor an exec result`);
    return { cacheKey: r.cacheKey, layer };
  });
  return { platform: { os: p.os, architecture: p.architecture, ...(p.variant ? { variant: p.variant } : {}) }, records };
}
