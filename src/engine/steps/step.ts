import { LadingError } from "../../errors.js";
import type { Digest } from "../../oci/digest.js";
import type { LayerRef } from "../../oci/types.js";
import type { Session } from "../session.js";

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

interface CachedLayer {
  layer: LayerRef;
}

/**
 * A layer-writing step through the op cache: a hit whose blob is still in
 * the store is reported CACHED and does no layer work; a miss runs
 * `produce` and records its result.
 */
export async function cachedLayerStep(session: Session, key: Digest, name: string, produce: () => Promise<LayerRef>): Promise<LayerRef> {
  if (!session.config.noCache) {
    const hit = await session.store.getCached<CachedLayer>(key);
    if (hit?.layer && (await session.store.claimBlob(hit.layer.descriptor.digest, hit.layer.descriptor.size))) {
      await session.store.touch({ cacheKey: key }, { blob: hit.layer.descriptor.digest });
      session.emit({ type: "step", id: key, name, status: "cached", duration: 0, layerWork: false });
      return hit.layer;
    }
  }
  const layer = await runStep(session, { id: key, name }, produce);
  if (!layer?.descriptor) throw new LadingError("INTERNAL", `step ${name} produced no layer`);
  await session.store.putCached(key, { layer } satisfies CachedLayer);
  return layer;
}
