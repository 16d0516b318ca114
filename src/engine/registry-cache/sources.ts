/**
 * Which registry build caches a session reads (`cacheFrom`): checked when
 * given (a reference that cannot be parsed is the caller's mistake, not a
 * cache to skip), read when a step first looks for a result.
 */
import { LadingError } from "../../errors.js";
import { formatReference, parseReference } from "../../registry/reference.js";
import type { Session } from "../session.js";

/** Adds a cache reference to the session's sources (once; the order given is the order asked). */
export function addCacheSource(session: Session, ref: string): void {
  let normal: string;
  try {
    normal = formatReference(parseReference(ref));
  } catch (err) {
    throw new LadingError("INVALID_ARGUMENT", `build cache ${JSON.stringify(ref)}: ${(err as Error).message}`, { cause: err });
  }
  if (!session.cacheSources.includes(normal)) session.cacheSources.push(normal);
}
