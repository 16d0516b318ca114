/**
 * Manifest GET/HEAD (distribution-rules §2): Accept lists every type we
 * handle (registry 2.8 answers 404 for an OCI manifest otherwise), the type
 * comes from Content-Type without parameters and must agree with the body's
 * `mediaType`, and the bytes are checked against the digest asked for and
 * against `Docker-Content-Digest`.
 */
import { LadingError } from "../errors.js";
import { isDigest, sha256, type Digest } from "../oci/digest.js";
import { MediaType } from "../oci/mediatypes.js";
import type { Descriptor } from "../oci/types.js";
import { pullScope, type RegistryWire } from "./wire.js";
import { formatReference, referenceTagOrDigest, type Reference } from "./reference.js";
import { registryError } from "./transport/errors.js";
import { discard, header, type HttpResponse } from "./transport/types.js";

export const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifestList, MediaType.dockerManifest].join(", ");

/** Registries must accept 4 MB manifests; refuse to buffer anything far beyond. */
const MAX_MANIFEST = 8 << 20;

export interface FetchedManifest {
  descriptor: Descriptor;
  bytes: Buffer;
}

function mediaTypeOf(ct: string | undefined): string | undefined {
  const t = ct?.split(";")[0]?.trim().toLowerCase();
  return t || undefined;
}

async function readCapped(res: HttpResponse, max: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > max) {
      res.body.destroy();
      throw new LadingError("INVALID_IMAGE", `${what} is larger than ${max} bytes; refusing it`);
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

/** GETs the manifest or index `reference` (a tag or digest) of `ref`'s repository and verifies it. */
export async function fetchManifest(client: RegistryWire, ref: Reference, reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
  const where = `${ref.registry}/${ref.repository}:${reference}`.replace(/:(sha256:)/, "@$1");
  const req = { method: "GET" as const, url: client.repoUrl(ref, `manifests/${reference}`), headers: { accept: MANIFEST_ACCEPT }, scopes: [pullScope(ref)] };
  const res = await client.send(req, signal);
  if (res.statusCode !== 200) throw await registryError(req, res, `fetching manifest ${where}`);
  const bytes = await readCapped(res, MAX_MANIFEST, `manifest ${where}`);
  const digest = sha256(bytes);
  if (isDigest(reference) && reference !== digest) {
    throw new LadingError("DIGEST_MISMATCH", `manifest ${where}: the registry served content hashing to ${digest}; refusing it`);
  }
  const claimed = header(res, "docker-content-digest");
  if (claimed && claimed.startsWith("sha256:") && claimed !== digest) {
    throw new LadingError("DIGEST_MISMATCH", `manifest ${where}: Docker-Content-Digest ${claimed} does not match the body (${digest}); refusing it`);
  }
  let body: { mediaType?: unknown; manifests?: unknown; config?: unknown };
  try {
    body = JSON.parse(bytes.toString("utf8")) as typeof body;
  } catch {
    throw new LadingError("INVALID_IMAGE", `manifest ${where} is not JSON`);
  }
  const ct = mediaTypeOf(header(res, "content-type"));
  const inBody = typeof body.mediaType === "string" ? body.mediaType : undefined;
  if (inBody && ct && ct !== "application/json" && ct !== "text/plain" && ct !== inBody) {
    throw new LadingError("INVALID_IMAGE", `manifest ${where}: Content-Type ${ct} differs from its mediaType ${inBody}; refusing it`);
  }
  const mediaType = inBody ?? (ct && ct !== "application/json" ? ct : Array.isArray(body.manifests) ? MediaType.ociIndex : MediaType.ociManifest);
  return { descriptor: { mediaType, digest, size: bytes.length }, bytes };
}

/** HEAD the manifest; when the registry leaves out a header we need, GET it instead. */
export async function resolveManifest(client: RegistryWire, ref: Reference, signal?: AbortSignal): Promise<Descriptor> {
  const reference = referenceTagOrDigest(ref);
  const req = { method: "HEAD" as const, url: client.repoUrl(ref, `manifests/${reference}`), headers: { accept: MANIFEST_ACCEPT }, scopes: [pullScope(ref)] };
  const res = await client.send(req, signal);
  await discard(res);
  if (res.statusCode === 200) {
    const digest = header(res, "docker-content-digest");
    const size = Number(header(res, "content-length"));
    const mediaType = mediaTypeOf(header(res, "content-type"));
    if (isDigest(digest) && Number.isInteger(size) && size > 0 && mediaType && mediaType !== "application/json") {
      if (ref.digest && digest !== ref.digest) {
        throw new LadingError("DIGEST_MISMATCH", `${formatReference(ref)}: the registry reports digest ${digest}`);
      }
      return { mediaType, digest: digest as Digest, size };
    }
  } else if (res.statusCode !== 405 && res.statusCode !== 400) {
    // HEAD has no body, so the error has no diagnostics; the status says enough.
    throw await registryError(req, res, `resolving ${formatReference(ref)}`);
  }
  return (await fetchManifest(client, ref, reference, signal)).descriptor;
}
