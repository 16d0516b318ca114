import { LadingError } from "../../errors.js";
import type { Digest } from "../../oci/digest.js";
import type { LayerRef } from "../../oci/types.js";
import { canonicalJson } from "../../oci/json.js";
import { sha256 } from "../../oci/digest.js";
import { layerTimes, type Session } from "../session.js";

export interface StepInfo {
  id: string;
  name: string;
  /** True for steps that never write a layer (resolving a base image). */
  metadataOnly?: boolean;
}

/** Runs one step, reporting running → done (or error) with its duration. */
export async function runStep<T>(session: Session, info: StepInfo, fn: () => Promise<T>, layerWork = !info.metadataOnly): Promise<T> {
  const t0 = performance.now();
  session.emit({ type: "step", id: info.id, name: info.name, status: "running" });
  try {
    const out = await fn();
    // Exec results carry CPU figures; they belong on the step's done event.
    const metrics = (out as { metrics?: Record<string, unknown> } | undefined)?.metrics;
    session.emit({ type: "step", id: info.id, name: info.name, status: "done", duration: (performance.now() - t0) / 1000, layerWork, ...(metrics ? { metrics } : {}) });
    return out;
  } catch (err) {
    session.emit({ type: "step", id: info.id, name: info.name, status: "error", duration: (performance.now() - t0) / 1000, error: (err as Error).message });
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
 * the store is reported CACHED and does no layer work; a miss runs
 * `produce` and records its result.
 */
export async function cachedLayerStep(session: Session, key: Digest, name: string, produce: () => Promise<LayerRef>): Promise<LayerRef> {
  const cacheKey = layerCacheKey(session, key);
  if (!session.config.noCache) {
    const hit = await session.store.getCached<CachedLayer>(cacheKey);
    if (hit?.layer && (await session.store.claimBlob(hit.layer.descriptor.digest, hit.layer.descriptor.size))) {
      await session.store.touch({ cacheKey }, { blob: hit.layer.descriptor.digest });
      session.emit({ type: "step", id: key, name, status: "cached", duration: 0, layerWork: false });
      return hit.layer;
    }
  }
  const layer = await runStep(session, { id: key, name }, produce);
  if (!layer?.descriptor) throw new LadingError("INTERNAL", `step ${name} produced no layer`);
  await session.store.putCached(cacheKey, { layer } satisfies CachedLayer);
  return layer;
}
