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
  throw new NoSuchPlatformError(where, want, manifests.flatMap((d) => (d.platform ? [d.platform] : [])));
}

/** An index without the platform asked for; `platforms` are those it has, in its order. */
export class NoSuchPlatformError extends LadingError {
  constructor(where: string, want: Platform, readonly platforms: Platform[]) {
    const name = (p: Platform) => `${p.os}/${p.architecture}${p.variant ? "/" + p.variant : ""}`;
    super("NOT_FOUND", `${where} has no image for platform ${name(want)} (it has: ${platforms.map(name).join(", ") || "none"}); pass a platform it has`);
  }
}
