import { ExecError, LadingError } from "../../errors.js";
import type { Digest } from "../../oci/digest.js";
import type { LayerRef, Platform } from "../../oci/types.js";
import { formatPlatform } from "../image-state.js";
import { canonicalJson } from "../../oci/json.js";
import { sha256 } from "../../oci/digest.js";
import { layerTimes, type Session } from "../session.js";
import type { StepAttribute } from "../events.js";
import type { ImageState } from "../image-state.js";
import { ensureLayers } from "../registry-cache/lazy.js";

export interface StepInfo {
  id: string;
  name: string;
  /** True for steps that never write a layer (resolving a base image). */
  metadataOnly?: boolean;
  /** "span" for a tool's own phase (client.span), "detail" for one part of a step (a git fetch): progress lines leave both out. */
  kind?: "span" | "detail";
  /**
   * What the step starts from (cache key, input digests): shown on every
   * event of it. Read again when the step ends, so its work may add what it
   * learns on the way (which refspec a fetch needed).
   */
  attributes?: Record<string, StepAttribute>;
}

/** The image a step starts from, for traces: how many layers, and the top one. */
export function inputAttributes(state: { layers: readonly LayerRef[]; platform?: Platform }): Record<string, StepAttribute> {
  const top = state.layers[state.layers.length - 1];
  // The platform tells a multi-platform build's steps apart (they share names), in traces and progress.
  return { "lading.input.layers": state.layers.length, ...(top ? { "lading.input.top_layer": top.descriptor.digest } : {}), ...(state.platform ? { "lading.platform": formatPlatform(state.platform) } : {}) };
}

/** What a step's result says about its output, for traces: the layer written, the exit code. */
export function outputAttributes(out: unknown): Record<string, StepAttribute> {
  const o = out as { descriptor?: LayerRef["descriptor"]; layer?: LayerRef; manifest?: LayerRef["descriptor"]; exitCode?: number; cacheKey?: Digest } | undefined;
  const layer = o?.descriptor ?? o?.layer?.descriptor ?? o?.manifest;
  return {
    // A step keyed by its own work (a tree keyed as it is packed) knows its key only at the end.
    ...(o?.cacheKey ? { "lading.cache.key": o.cacheKey } : {}),
    ...(layer ? { "lading.output.digest": layer.digest, "lading.output.size": layer.size } : {}),
    ...(typeof o?.exitCode === "number" ? { "lading.exec.exit_code": o.exitCode } : {}),
    ...(typeof out === "string" && out.startsWith("sha256:") ? { "lading.output.digest": out } : {}),
  };
}

/** Runs one step, reporting running → done (or error) with its duration. */
export async function runStep<T>(session: Session, info: StepInfo, fn: () => Promise<T>, layerWork = !info.metadataOnly): Promise<T> {
  const t0 = performance.now();
  const attrs = info.attributes ?? {};
  const kind = info.kind ? { kind: info.kind } : {};
  session.emit({ type: "step", id: info.id, name: info.name, status: "running", ...kind, attributes: { ...attrs } });
  try {
    const out = await session.within(info.id, fn);
    // Exec results carry CPU figures; they belong on the step's done event.
    const metrics = (out as { metrics?: Record<string, unknown> } | undefined)?.metrics;
    session.emit({ type: "step", id: info.id, name: info.name, status: "done", ...kind, duration: (performance.now() - t0) / 1000, layerWork, ...(metrics ? { metrics } : {}), attributes: { ...attrs, ...outputAttributes(out) } });
    return out;
  } catch (err) {
    const exit: Record<string, StepAttribute> = err instanceof ExecError ? { "lading.exec.exit_code": err.exitCode } : {};
    session.emit({ type: "step", id: info.id, name: info.name, status: "error", ...kind, duration: (performance.now() - t0) / 1000, error: (err as Error).message, attributes: { ...attrs, ...exit } });
    throw err;
  }
}

/**
 * Where a layer step's result is cached: its key plus the time rule, which
 * changes the layer's bytes but is no part of the op (a build with another
 * SOURCE_DATE_EPOCH, or with mtimes kept, must not take this one's layers).
 */
export function layerCacheKey(session: Session, key: Digest): Digest {
  return sha256(canonicalJson({ key, times: layerTimes(session.config) }));
}

interface CachedLayer {
  layer: LayerRef;
}

/**
 * A layer-writing step through the op cache: a hit whose blob is still in
 * the store is reported CACHED and does no layer work; so is a hit in a
 * registry build cache (`cacheFrom`), whose layer stays in the registry
 * until something reads it. A miss runs `produce` (with the input image's
 * layers in the store) and records its result.
 */
export async function cachedLayerStep(session: Session, state: Pick<ImageState, "layers" | "platform">, key: Digest, name: string, produce: () => Promise<LayerRef>, attributes: Record<string, StepAttribute> = {}): Promise<LayerRef> {
  const attrs = { ...attributes, "lading.cache.key": key };
  const cacheKey = layerCacheKey(session, key);
  if (!session.config.noCache) {
    const hit = await session.store.getCached<CachedLayer>(cacheKey);
    if (hit?.layer && (await session.store.claimBlob(hit.layer.descriptor.digest, hit.layer.descriptor.size))) {
      await session.store.touch({ cacheKey }, { blob: hit.layer.descriptor.digest });
      session.emit({ type: "step", id: key, name, status: "cached", duration: 0, layerWork: false, attributes: { ...attrs, ...outputAttributes(hit.layer) } });
      return loggedForCacheExport(session, state.platform, key, cacheKey, hit.layer);
    }
    if (session.cacheSources.length > 0) {
      const { takeRemote } = await import("../registry-cache/remote.js");
      const remote = await takeRemote(session, cacheKey, state.platform);
      if (remote?.record.layer) {
        session.emit({ type: "step", id: key, name, status: "cached", duration: 0, layerWork: false, attributes: { ...attrs, ...outputAttributes(remote.record.layer), "lading.cache.source": remote.source } });
        return loggedForCacheExport(session, state.platform, key, cacheKey, remote.record.layer);
      }
    }
  }
  const layer = await runStep(session, { id: key, name, attributes: attrs }, async () => {
    await ensureLayers(session, state.layers);
    return produce();
  });
  if (!layer?.descriptor) throw new LadingError("INTERNAL", `step ${name} produced no layer`);
  await session.store.putCached(cacheKey, { layer } satisfies CachedLayer);
  return loggedForCacheExport(session, state.platform, key, cacheKey, layer);
}

/** Notes a layer step's result for a build cache export, and returns it. */
export function loggedForCacheExport(session: Session, platform: Platform, key: Digest, cacheKey: Digest, layer: LayerRef): LayerRef {
  session.cacheLog.set(key, { cacheKey, kind: "layer", platform, record: { layer } });
  return layer;
}
