/**
 * A session's registry cache state: the caches read so far, the notices
 * given, and the blobs cached steps left in the registry. Kept beside the
 * session (not in it): only registry-cache/ knows its shape.
 */
import type { Digest } from "../../oci/digest.js";
import type { Descriptor } from "../../oci/types.js";
import type { Reference } from "../../registry/reference.js";
import type { Session } from "../session.js";

/** A blob known to be in a cache's repository and not (yet) in the store. */
export interface LazyBlob {
  readonly descriptor: Descriptor;
  readonly source: { readonly ref: string; readonly reference: Reference };
  /** Op cache records to write once the blob is stored (a record without its blob is a miss anyway). */
  readonly pending: Array<{ cacheKey: Digest; record: unknown }>;
  fetching?: Promise<void>;
}

export interface RegistryCacheState {
  /** Cache reference → the cache read from it (undefined when it could not be used), loaded once. */
  readonly sources: Map<string, Promise<unknown>>;
  /** Notices already given (one per cache and reason). */
  readonly noticed: Set<string>;
  readonly lazy: Map<Digest, LazyBlob>;
}

const states = new WeakMap<Session, RegistryCacheState>();

export function cacheState(session: Session): RegistryCacheState {
  let s = states.get(session);
  if (!s) {
    s = { sources: new Map(), noticed: new Set(), lazy: new Map() };
    states.set(session, s);
  }
  return s;
}

/** The state, if the session has used a registry cache at all. */
export function cacheStateIfAny(session: Session): RegistryCacheState | undefined {
  return states.get(session);
}
