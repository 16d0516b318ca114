/**
 * Push: every blob first (bounded parallel, see blob-push.ts), then child
 * manifests of an index by digest, then the root manifest or index under
 * the tag (distribution-rules §3, §4). The manifest goes up as the exact
 * bytes in the store, with `Content-Type` equal to its `mediaType`, and the
 * registry's `Docker-Content-Digest` must match ours.
 */
import { LadingError } from "../errors.js";
import type { Digest } from "../oci/digest.js";
import { isIndexType, isManifestType } from "../oci/mediatypes.js";
import { type Descriptor, type ImageIndex, type ImageManifest } from "../oci/types.js";
import type { RegistryStore } from "./registry-store.js";
import { pushBlob } from "./blob-push.js";
import { pushScope, type RegistryWire } from "./wire.js";
import { recordOrigin } from "./origins.js";
import { forEachBounded } from "./pool.js";
import { isNondistributable } from "./nondistributable.js";
import { formatReference, type Reference } from "./reference.js";
import { registryError } from "./transport/errors.js";
import { discard, header } from "./transport/types.js";

interface Plan {
  blobs: Map<Digest, Descriptor>;
  /** Manifests to PUT by digest before the root, children before parents. */
  children: Descriptor[];
  /** The root's media type, from its descriptor or its own mediaType field. */
  rootMediaType?: string;
}

async function mediaTypeOfStored(store: RegistryStore, d: Descriptor): Promise<{ mediaType: string; body: { mediaType?: string; manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] } }> {
  const body = await store.readJson<{ mediaType?: string; manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] }>(d.digest);
  if (body.mediaType && d.mediaType && body.mediaType !== d.mediaType) {
    throw new LadingError("INVALID_IMAGE", `manifest ${d.digest}: its descriptor says ${d.mediaType} but its mediaType field is ${body.mediaType}`);
  }
  return { mediaType: body.mediaType ?? d.mediaType, body };
}

async function plan(store: RegistryStore, root: Descriptor, out: Plan, isRoot: boolean, depth = 0): Promise<void> {
  if (depth > 4) throw new LadingError("INVALID_IMAGE", `index nesting deeper than 4 levels at ${root.digest}`);
  if (!(await store.hasBlob(root.digest, root.size))) {
    throw new LadingError("NOT_FOUND", `cannot push manifest ${root.digest}: it is not in the store ${store.location} (a platform that was never pulled?)`);
  }
  const { mediaType, body } = await mediaTypeOfStored(store, root);
  if (isIndexType(mediaType) || Array.isArray(body.manifests)) {
    for (const child of (body as ImageIndex).manifests) await plan(store, child, out, false, depth + 1);
  } else if (isManifestType(mediaType) || body.config) {
    const m = body as ImageManifest;
    for (const b of [m.config, ...m.layers]) if (!isNondistributable(b)) out.blobs.set(b.digest, b);
  } else {
    throw new LadingError("INVALID_IMAGE", `${root.digest} has media type ${mediaType}, which is neither a manifest nor an index`);
  }
  if (!isRoot) out.children.push({ ...root, mediaType });
  else out.rootMediaType = mediaType;
}

async function putManifest(client: RegistryWire, store: RegistryStore, ref: Reference, d: Descriptor, reference: string, signal?: AbortSignal): Promise<Digest> {
  const bytes = await store.readBlob(d.digest);
  const body = JSON.parse(bytes.toString("utf8")) as { subject?: Descriptor; artifactType?: string; config?: Descriptor; annotations?: Record<string, string> };
  const req = {
    method: "PUT" as const,
    url: client.repoUrl(ref, `manifests/${reference}`),
    headers: { "content-type": d.mediaType, "content-length": String(bytes.length) },
    body: () => bytes,
    scopes: [pushScope(ref)],
  };
  const res = await client.send(req, signal);
  if (res.statusCode !== 201 && res.statusCode !== 200) throw await registryError(req, res, `pushing manifest ${d.digest} to ${formatReference({ ...ref, tag: undefined, digest: undefined })}:${reference}`);
  await discard(res);
  const echoed = header(res, "docker-content-digest");
  if (echoed && echoed !== d.digest) {
    throw new LadingError("REGISTRY", `pushing manifest ${d.digest}: the registry stored it as ${echoed}; it altered the bytes`);
  }
  if (body.subject && !header(res, "oci-subject")) {
    const { addReferrer } = await import("./referrers.js"); // only registries without the referrers API need it
    await addReferrer(client, ref, body.subject.digest, { mediaType: d.mediaType, digest: d.digest, size: bytes.length, artifactType: body.artifactType, configMediaType: body.config?.mediaType, annotations: body.annotations }, signal);
  }
  client.config.onProgress?.({ kind: "manifest", digest: d.digest, bytes: bytes.length, total: bytes.length, done: true });
  return d.digest;
}

export async function pushImage(client: RegistryWire, store: RegistryStore, root: Descriptor, ref: Reference, signal?: AbortSignal): Promise<Digest> {
  if (ref.digest && ref.digest !== root.digest) {
    throw new LadingError("INVALID_ARGUMENT", `cannot push ${root.digest} to ${formatReference(ref)}: the reference pins another digest`);
  }
  const p: Plan = { blobs: new Map(), children: [] };
  await plan(store, root, p, true);
  const mediaType = p.rootMediaType!;
  const origin = { registry: ref.registry, repository: ref.repository };
  // Each blob's origin is recorded as soon as the registry has it, beside the other uploads and the
  // manifest PUTs rather than after them; every record is awaited (its failure thrown) before this returns.
  const records: Array<Promise<void>> = [];
  const record = (d: Digest): void => {
    const r = recordOrigin(store, d, origin);
    r.catch(() => {}); // awaited below: this only keeps an early failure from counting as unhandled meanwhile
    records.push(r);
  };
  let digest: Digest;
  try {
    await forEachBounded([...p.blobs.values()], client.config.concurrency, (b, s) => pushBlob(client, store, ref, b, s).then(() => record(b.digest)), signal);
    for (const c of p.children) await putManifest(client, store, ref, c, c.digest, signal);
    digest = await putManifest(client, store, ref, { ...root, mediaType }, ref.tag ?? (ref.digest ? root.digest : "latest"), signal);
    for (const d of [...p.children.map((c) => c.digest), root.digest]) record(d);
  } finally {
    await Promise.allSettled(records); // nothing still writes in the store once this returns
  }
  await Promise.all(records);
  return digest;
}
