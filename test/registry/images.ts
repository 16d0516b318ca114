/**
 * Small test images written straight into a Store (no lading layer writer):
 * layers are real tar.gz made with tar-stream and filled with random bytes,
 * so every push and pull moves distinct content.
 */
import { randomBytes } from "node:crypto";
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import type { Store } from "../../src/store/store.js";
import type { Digest } from "../../src/oci/digest.js";
import { MediaType } from "../../src/oci/mediatypes.js";
import type { Descriptor } from "../../src/oci/types.js";

async function tarOf(files: Record<string, Buffer>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, data] of Object.entries(files)) pack.entry({ name, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 }, data);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export interface MadeImage {
  manifest: Descriptor;
  layers: Descriptor[];
  config: Descriptor;
}

/** An image with one layer per entry of `layerSizes` (random payload of that many bytes), annotated. */
export async function makeImage(store: Store, opts: { layerSizes?: number[]; annotations?: Record<string, string>; arch?: string; docker?: boolean } = {}): Promise<MadeImage> {
  const layers: Descriptor[] = [];
  const diffIds: Digest[] = [];
  for (const size of opts.layerSizes ?? [2048]) {
    const t = await tarOf({ [`payload-${randomBytes(4).toString("hex")}.bin`]: randomBytes(size) });
    diffIds.push(`sha256:${createHash("sha256").update(t).digest("hex")}`);
    const gz = gzipSync(t, { level: 1 });
    const info = await store.putBlob(gz);
    layers.push({ mediaType: opts.docker ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip, digest: info.digest, size: info.size });
  }
  const cfg = await store.putJson({ architecture: opts.arch ?? "amd64", os: "linux", config: { Cmd: ["/bin/sh"] }, rootfs: { type: "layers", diff_ids: diffIds } });
  const config: Descriptor = { mediaType: opts.docker ? MediaType.dockerConfig : MediaType.ociConfig, digest: cfg.digest, size: cfg.size };
  const mediaType = opts.docker ? MediaType.dockerManifest : MediaType.ociManifest;
  const m = await store.putJson({ schemaVersion: 2, mediaType, config, layers, ...(opts.annotations ? { annotations: opts.annotations } : {}) });
  return { manifest: { mediaType, digest: m.digest, size: m.size }, layers, config };
}

/** An OCI index over images for `arches`. */
export async function makeIndex(store: Store, arches: string[]): Promise<{ index: Descriptor; images: MadeImage[] }> {
  const images: MadeImage[] = [];
  for (const arch of arches) images.push(await makeImage(store, { arch, layerSizes: [1024] }));
  const idx = await store.putJson({
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: images.map((im, i) => ({ ...im.manifest, platform: { os: "linux", architecture: arches[i]! } })),
  });
  return { index: { mediaType: MediaType.ociIndex, digest: idx.digest, size: idx.size }, images };
}

/** Every blob in the store hashes to its name (the store's first invariant). */
export async function assertStoreIntact(store: Store): Promise<void> {
  const { readFile } = await import("node:fs/promises");
  for (const d of await store.listBlobs()) {
    const got = `sha256:${createHash("sha256").update(await readFile(store.blobPath(d))).digest("hex")}`;
    if (got !== d) throw new Error(`store blob ${d} hashes to ${got}`);
  }
}
