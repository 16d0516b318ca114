/**
 * The referrers tag fallback (distribution-rules §4): when a manifest with
 * `subject` is pushed and the registry answers without `OCI-Subject` (it has
 * no referrers API — registry 2.8 never sends it), the client keeps the
 * index under the tag `<alg>-<hex>` of the subject digest itself: read it
 * (404 → empty), add a descriptor of the new manifest with its
 * artifactType and annotations unless present, and put it back.
 */
import { LadingError } from "../errors.js";
import { hexOf, type Digest } from "../oci/digest.js";
import { canonicalJson } from "../oci/json.js";
import { isIndexType, MediaType } from "../oci/mediatypes.js";
import type { Descriptor, ImageIndex } from "../oci/types.js";
import { pushScope, type RegistryWire } from "./wire.js";
import { fetchManifest } from "./manifest.js";
import type { Reference } from "./reference.js";
import { registryError } from "./transport/errors.js";
import { discard } from "./transport/types.js";
import { RegistryError } from "../errors.js";

/** `sha256-<64 hex>`: the fallback tag for a subject digest. */
export function referrersTag(subject: Digest): string {
  return `sha256-${hexOf(subject)}`;
}

export async function addReferrer(
  client: RegistryWire,
  ref: Reference,
  subject: Digest,
  referrer: { mediaType: string; digest: Digest; size: number; artifactType?: string; configMediaType?: string; annotations?: Record<string, string> },
  signal?: AbortSignal,
): Promise<void> {
  const tag = referrersTag(subject);
  let index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
  try {
    const got = await fetchManifest(client, ref, tag, signal);
    if (!isIndexType(got.descriptor.mediaType)) {
      throw new LadingError("INVALID_IMAGE", `the referrers tag ${tag} of ${ref.registry}/${ref.repository} holds a ${got.descriptor.mediaType}, not an index; not touching it`);
    }
    index = JSON.parse(got.bytes.toString("utf8")) as ImageIndex;
  } catch (err) {
    if (!(err instanceof RegistryError && err.statusCode === 404)) throw err;
  }
  if (index.manifests.some((d) => d.digest === referrer.digest)) return;
  const entry: Descriptor = { mediaType: referrer.mediaType, digest: referrer.digest, size: referrer.size };
  const artifactType = referrer.artifactType ?? referrer.configMediaType;
  if (artifactType) entry.artifactType = artifactType;
  if (referrer.annotations && Object.keys(referrer.annotations).length) entry.annotations = { ...referrer.annotations };
  const bytes = Buffer.from(canonicalJson({ ...index, manifests: [...index.manifests, entry] }));
  const req = { method: "PUT" as const, url: client.repoUrl(ref, `manifests/${tag}`), headers: { "content-type": MediaType.ociIndex, "content-length": String(bytes.length) }, body: () => bytes, scopes: [pushScope(ref)] };
  const res = await client.send(req, signal);
  if (res.statusCode !== 201 && res.statusCode !== 200) throw await registryError(req, res, `updating the referrers tag ${tag}`);
  await discard(res);
}
