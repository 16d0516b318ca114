/**
 * Layers a step took from a registry build cache are not downloaded when
 * the step is taken: only when something reads them (an exec or file step
 * that misses, unpacking a root filesystem, an export, a push, naming the
 * image in the store). This file is the cheap half every such reader calls;
 * a session that uses no registry cache never loads the registry code.
 */
import type { Digest } from "../../oci/digest.js";
import type { LayerRef } from "../../oci/types.js";
import type { Session } from "../session.js";
import { cacheStateIfAny, type LazyBlob } from "./state.js";

/** The lazy blobs among `digests` (none in a session without a registry cache). */
export function lazyAmong(session: Session, digests: readonly Digest[]): LazyBlob[] {
  const lazy = cacheStateIfAny(session)?.lazy;
  if (!lazy || lazy.size === 0) return [];
  return digests.flatMap((d) => lazy.get(d) ?? []);
}

/** Makes sure every blob of `layers` is in the store, downloading those a cached step left in the registry. */
export async function ensureLayers(session: Session, layers: readonly LayerRef[]): Promise<void> {
  const need = lazyAmong(session, layers.map((l) => l.descriptor.digest));
  if (need.length === 0) return;
  const { fetchLazyBlobs } = await import("./remote.js");
  await fetchLazyBlobs(session, need);
}
