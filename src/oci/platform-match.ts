import { LadingError } from "../errors.js";
import type { Descriptor, Platform } from "./types.js";

/** Whether an index entry's platform serves `want` (variant only compared when both give one). */
export function platformMatches(have: Platform | undefined, want: Platform): boolean {
  if (!have) return false;
  if (have.os !== want.os || have.architecture !== want.architecture) return false;
  return !have.variant || !want.variant || have.variant === want.variant;
}

/** Picks the manifest for `want` from an index's entries: the first match, as the image spec says readers should. */
export function pickManifest(manifests: readonly Descriptor[], want: Platform, where: string): Descriptor {
  const hit = manifests.find((d) => platformMatches(d.platform, want));
  if (hit) return hit;
  const noPlatform = manifests.filter((d) => !d.platform);
  if (noPlatform.length === 1 && manifests.length === 1) return noPlatform[0]!;
  const have = manifests.map((d) => (d.platform ? `${d.platform.os}/${d.platform.architecture}${d.platform.variant ? "/" + d.platform.variant : ""}` : "?")).join(", ");
  throw new LadingError("NOT_FOUND", `${where} has no image for platform ${want.os}/${want.architecture}${want.variant ? "/" + want.variant : ""} (it has: ${have || "none"}); pass a platform it has`);
}
