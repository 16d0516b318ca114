import { LadingError } from "../../errors.js";
import type { Digest } from "../../oci/digest.js";
import type { LayerRef, Platform } from "../../oci/types.js";
import { canonicalJson } from "../../oci/json.js";
import { sha256 } from "../../oci/digest.js";
import { layerTimes, type Session } from "../session.js";
import type { StepAttribute } from "../events.js";
import type { ImageState } from "../image-state.js";
import { ensureLayers } from "../registry-cache/lazy.js";
import { outputAttributes, runStep } from "./run-step.js";

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
