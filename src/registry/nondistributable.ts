import type { Descriptor } from "../oci/types.js";

/** Layers that the image spec says must not be pushed or pulled from the registry (foreign layers). */
export function isNondistributable(d: Descriptor): boolean {
  return d.mediaType.includes("nondistributable") || d.mediaType.includes("foreign");
}
