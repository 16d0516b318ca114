/**
 * The pull decision (issue 4 "Digest pins"): what `from(ref)` needs from the
 * registry, if anything.
 *  - `name@sha256:…` whose manifest and blobs are in the store: zero requests.
 *  - a tag under policy `missing` with a pin whose content is present: zero requests.
 *  - `always`: resolve the tag (one HEAD), pull only if the digest moved.
 *  - `never`: the content must be there, else NOT_FOUND, without a request.
 * A pull records the pin (reference → digest) for the next time.
 */
import { LadingError } from "../errors.js";
import type { Digest } from "../oci/digest.js";
import { isIndexType } from "../oci/mediatypes.js";
import { type Descriptor, type ImageIndex, type ImageManifest, type Platform } from "../oci/types.js";
import { pickManifest } from "../oci/platform-match.js";
import type { RegistryStore } from "./registry-store.js";
import type { RegistryClient } from "./client.js";
import { defaultPlatform, isNondistributable } from "./pull.js";
import { formatReference, type Reference } from "./reference.js";

export type PullPolicy = "missing" | "always" | "never";

/** The manifest for `platform` under `root` when it and every blob it needs are in the store; else undefined. */
export async function completeInStore(store: RegistryStore, root: Descriptor | { digest: Digest; mediaType?: string; size?: number }, platform: Platform, depth = 0): Promise<Descriptor | undefined> {
  if (!(await store.claimBlob(root.digest, root.size))) return undefined;
  let body: { mediaType?: string; manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
  try {
    body = await store.readJson(root.digest);
  } catch {
    return undefined;
  }
  let manifest: Descriptor = { mediaType: body.mediaType ?? root.mediaType ?? "", digest: root.digest, size: root.size ?? (await store.blobSize(root.digest))! };
  let m = body as ImageManifest;
  if (isIndexType(body.mediaType ?? root.mediaType) || Array.isArray(body.manifests)) {
    let chosen: Descriptor;
    try {
      chosen = pickManifest((body as ImageIndex).manifests, platform, root.digest);
    } catch {
      return undefined;
    }
    if (!(await store.claimBlob(chosen.digest, chosen.size))) return undefined;
    if (isIndexType(chosen.mediaType)) return depth < 4 ? completeInStore(store, chosen, platform, depth + 1) : undefined;
    manifest = chosen;
    try {
      m = await store.readJson<ImageManifest>(chosen.digest);
    } catch {
      return undefined;
    }
  }
  if (!m.config || !Array.isArray(m.layers)) return undefined;
  for (const b of [m.config, ...m.layers]) {
    if (!isNondistributable(b) && !(await store.claimBlob(b.digest, b.size))) return undefined;
  }
  return manifest;
}

/** The pin key for a tag reference: its normalised name with the tag (default latest). */
export function pinKey(ref: Reference): string {
  return formatReference({ registry: ref.registry, repository: ref.repository, tag: ref.tag ?? "latest" });
}

/**
 * Makes `ref` available in `store` as policy says and returns the image
 * manifest descriptor for `platform`. Requests happen only when needed.
 */
export async function pullIfMissing(client: RegistryClient, store: RegistryStore, ref: Reference, policy: PullPolicy, opts: { platform?: Platform; signal?: AbortSignal } = {}): Promise<Descriptor> {
  const platform = opts.platform ?? defaultPlatform();
  const pin = ref.digest ? { digest: ref.digest } : await store.getPin(pinKey(ref));
  if (policy !== "always" || ref.digest) {
    const local = pin ? await completeInStore(store, pin, platform) : undefined;
    if (local) return local;
    if (policy === "never") {
      throw new LadingError("NOT_FOUND", `${formatReference(ref)} is not in the store and the pull policy is "never"; pull it first or use --pull=missing`);
    }
  } else {
    const remote = await client.resolve(ref, opts.signal);
    const local = await completeInStore(store, remote, platform);
    if (local) {
      await store.setPin(pinKey(ref), { digest: remote.digest, mediaType: remote.mediaType, size: remote.size });
      return local;
    }
  }
  const pulled = await client.pull(ref, store, { platform, signal: opts.signal });
  const root = pulled.index ?? pulled.manifest;
  if (!ref.digest) await store.setPin(pinKey(ref), { digest: root.digest, mediaType: root.mediaType, size: root.size });
  return pulled.manifest;
}
