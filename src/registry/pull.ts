/**
 * Pull: root manifest or index first (stored as served, so digests stay
 * the registry's), then for an index the manifest of the wanted platform,
 * then config and layers in parallel (bounded). Media types are kept as
 * the source has them. Each blob's origin is recorded for later mounts.
 */
import { LadingError } from "../errors.js";
import { isIndexType, MediaType } from "../oci/mediatypes.js";
import { pickManifest } from "../oci/platform-match.js";
import { type Descriptor, type ImageIndex, type ImageManifest, type Platform } from "../oci/types.js";
import type { RegistryStore } from "./registry-store.js";
import { fetchBlob } from "./blob-fetch.js";
import type { RegistryWire } from "./wire.js";
import { fetchManifest } from "./manifest.js";
import { isNondistributable } from "./nondistributable.js";
import { recordOrigin } from "./origins.js";
import { forEachBounded } from "./pool.js";
import { formatReference, referenceTagOrDigest, type Reference } from "./reference.js";

const ARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64", loong64: "loong64" };

export function defaultPlatform(): Platform {
  const architecture = ARCH[process.arch] ?? process.arch;
  return { os: "linux", architecture, ...(architecture === "arm" ? { variant: "v7" } : {}) };
}

export { isNondistributable } from "./nondistributable.js";

async function storeManifest(client: RegistryWire, store: RegistryStore, ref: Reference, reference: string, expected: Partial<Descriptor>, signal?: AbortSignal): Promise<Descriptor> {
  if (expected.digest && expected.size !== undefined && (await store.claimBlob(expected.digest, expected.size))) {
    return { mediaType: expected.mediaType ?? MediaType.ociManifest, digest: expected.digest, size: expected.size };
  }
  const got = await fetchManifest(client, ref, reference, signal);
  if (expected.size !== undefined && got.descriptor.size !== expected.size) {
    throw new LadingError("DIGEST_MISMATCH", `manifest ${got.descriptor.digest} of ${formatReference(ref)} has ${got.descriptor.size} bytes, its index says ${expected.size}`);
  }
  await store.putBlob(got.bytes, { digest: got.descriptor.digest, size: got.descriptor.size });
  client.config.onProgress?.({ kind: "manifest", digest: got.descriptor.digest, bytes: got.descriptor.size, total: got.descriptor.size, done: true });
  return { ...got.descriptor, mediaType: expected.mediaType ?? got.descriptor.mediaType };
}

/** How deep indexes may nest before a pull gives up (real images use one level; this guards against loops). */
const MAX_INDEX_DEPTH = 4;

export async function pullImage(client: RegistryWire, ref: Reference, store: RegistryStore, opts: { platform?: Platform; signal?: AbortSignal }): Promise<{ manifest: Descriptor; index?: Descriptor }> {
  const signal = opts.signal;
  const origin = { registry: ref.registry, repository: ref.repository };
  const root = await storeManifest(client, store, ref, referenceTagOrDigest(ref), ref.digest ? { digest: ref.digest } : {}, signal);
  let manifestDesc = root;
  let index: Descriptor | undefined;
  const nested: Descriptor[] = [];
  if (isIndexType(root.mediaType)) {
    index = root;
    const want = opts.platform ?? defaultPlatform();
    // Walk down indexes (an index may hold indexes) to the platform's image manifest.
    for (let cur = root, depth = 0; isIndexType(cur.mediaType); depth++) {
      if (depth >= MAX_INDEX_DEPTH) throw new LadingError("INVALID_IMAGE", `${formatReference(ref)}: indexes nested more than ${MAX_INDEX_DEPTH} deep`);
      if (cur !== root) nested.push(cur);
      const idx = await store.readJson<ImageIndex>(cur.digest);
      const chosen = pickManifest(idx.manifests, want, formatReference(ref));
      const m = await storeManifest(client, store, ref, chosen.digest, chosen, signal);
      cur = { mediaType: chosen.mediaType, digest: m.digest, size: m.size, ...(chosen.platform ? { platform: chosen.platform } : {}) };
      manifestDesc = cur;
    }
  }
  const manifest = await store.readJson<ImageManifest>(manifestDesc.digest);
  if (!manifest.config || !Array.isArray(manifest.layers)) {
    throw new LadingError("INVALID_IMAGE", `${formatReference(ref)}: manifest ${manifestDesc.digest} has no config or layers`);
  }
  const blobs = [manifest.config, ...manifest.layers.filter((l) => !isNondistributable(l))];
  const unique = [...new Map(blobs.map((b) => [b.digest, b])).values()];
  await forEachBounded(unique, client.config.concurrency, (b, s) => fetchBlob(client, ref, b, store, s).then(() => undefined), signal);
  await Promise.all([...unique.map((b) => b.digest), manifestDesc.digest, ...nested.map((n) => n.digest), ...(index ? [index.digest] : [])].map((d) => recordOrigin(store, d, origin)));
  return { manifest: manifestDesc, ...(index ? { index } : {}) };
}
