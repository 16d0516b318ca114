import { LadingError } from "../errors.js";
import { isIndexType } from "../oci/mediatypes.js";
import { NoSuchPlatformError } from "../oci/platform-match.js";
import type { Descriptor, ImageConfig, ImageManifest, Platform } from "../oci/types.js";
import { parsePlatform } from "./image-state.js";
import type { Session } from "./session.js";
import { manifestFor, resolveImage } from "./steps/from.js";

export interface ImageInspection {
  /** Where it came from, normalised. */
  name: string;
  /** The manifest chosen for the platform. */
  descriptor: Descriptor;
  manifest: ImageManifest;
  /** The manifest's exact bytes. */
  rawManifest: string;
  config: ImageConfig;
  rawConfig: string;
  /** The index it was chosen from, if the source had one. */
  index?: { descriptor: Descriptor; raw: string };
}

/**
 * Reads an image's manifest and config without changing anything about it.
 * With `anyPlatform`, an index without the platform gives its first one's.
 */
export async function inspectImage(session: Session, address: string, platform: string, anyPlatform = false): Promise<ImageInspection> {
  try {
    return await inspectPlatform(session, address, parsePlatform(platform));
  } catch (err) {
    const other = err instanceof NoSuchPlatformError ? err.platforms[0] : undefined;
    if (!anyPlatform || !other) throw err;
    return inspectPlatform(session, address, other);
  }
}

async function inspectPlatform(session: Session, address: string, p: Platform): Promise<ImageInspection> {
  const resolved = await resolveImage(session, address, p);
  let descriptor = resolved.manifest;
  let index: ImageInspection["index"] = resolved.index ? { descriptor: resolved.index, raw: (await session.store.readBlob(resolved.index.digest)).toString("utf8") } : undefined;
  if (isIndexType(descriptor.mediaType)) {
    index = { descriptor, raw: (await session.store.readBlob(descriptor.digest)).toString("utf8") };
    descriptor = await manifestFor(session, descriptor, p, address);
  }
  const rawManifest = (await session.store.readBlob(descriptor.digest)).toString("utf8");
  const manifest = JSON.parse(rawManifest) as ImageManifest;
  if (!manifest.config) throw new LadingError("INVALID_IMAGE", `${address}: ${descriptor.digest} is not an image manifest`);
  const rawConfig = (await session.store.readBlob(manifest.config.digest)).toString("utf8");
  return { name: resolved.name, descriptor, manifest, rawManifest, config: JSON.parse(rawConfig) as ImageConfig, rawConfig, ...(index ? { index } : {}) };
}

