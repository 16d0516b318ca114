import { LadingError } from "../../errors.js";
import type { Descriptor, Platform } from "../../oci/types.js";
import type { Session } from "../session.js";
import type { RegistryCredential } from "../registry-auth.js";

export interface ResolvedImage {
  manifest: Descriptor;
  /** The name recorded as the base image (org.opencontainers.image.base.name). */
  name: string;
  /** The image index `manifest` was picked from for the platform, when the source is one (stored). */
  index?: Descriptor;
}

/**
 * Pulls from a registry (or finds the pinned content already in the store,
 * with no request). A pin from the session's lock (lading.lock) turns a tag
 * into its recorded digest; every resolution is recorded for the lock.
 */
export async function pullImage(session: Session, address: string, platform: Platform, auth: RegistryCredential[] = []): Promise<ResolvedImage> {
  const { parseReference, formatReference } = await import("../../registry/reference.js");
  let ref;
  try {
    ref = parseReference(address);
  } catch (err) {
    throw new LadingError("NOT_FOUND", `image "${address}" is not in the store and is not a valid registry reference: ${(err as Error).message}`, { cause: err });
  }
  const { RegistryClient } = await import("../../registry/client.js");
  const { pullIfMissing, pinKey } = await import("../../registry/pull-policy.js");
  const source = ref.digest ? formatReference(ref) : pinKey(ref);
  const locked = ref.digest ? undefined : session.config.sourcePins?.[source];
  if (!ref.digest && !locked && session.config.requirePins) {
    throw new LadingError("NOT_FOUND", `${source} has no pin in the lock file and the lock is frozen; run the build with --lock=update to record one`);
  }
  const effective = locked ? { ...ref, digest: locked as `sha256:${string}` } : ref;
  const { transferEvents } = await import("../transfer-events.js");
  const client = new RegistryClient({ ...session.config.registry, auth: [...auth, ...(session.config.registry.auth ?? [])], env: session.config.env, onProgress: transferEvents(session, `pull:${address}`, "pull") });
  try {
    const manifest = await pullIfMissing(client, session.store, effective, session.config.pull, { platform, signal: session.config.signal });
    const pin = effective.digest ?? (await session.store.getPin(pinKey(ref)))?.digest ?? manifest.digest;
    session.resolutions.set(source, pin);
    return { manifest, name: formatReference(ref), ...(pin !== manifest.digest ? await storedIndex(session, pin) : {}) };
  } finally {
    await client.close();
  }
}

/** `{ index }` for the root a tag resolved to, when it is an index the store holds. */
async function storedIndex(session: Session, digest: string): Promise<{ index?: Descriptor }> {
  const { isIndexType } = await import("../../oci/mediatypes.js");
  const bytes = await session.store.readBlob(digest as Descriptor["digest"]).catch(() => undefined);
  if (!bytes) return {};
  const mediaType = (JSON.parse(bytes.toString("utf8")) as { mediaType?: string }).mediaType;
  return mediaType && isIndexType(mediaType) ? { index: { mediaType, digest: digest as Descriptor["digest"], size: bytes.length } } : {};
}
