/**
 * Writes an image (manifest or index, from the store) as a tar archive of an
 * OCI image layout that also carries a docker-save `manifest.json`, so
 * skopeo, umoci, podman load and docker load all read it. Deterministic:
 * fixed entry order, mtimes 0, numeric owners.
 */
import { open, rename, rm } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { LadingError, wrapFsError } from "../errors.js";
import { ArchiveWriter, type FileBackedBlobs } from "./archive-writer.js";
import type { BlobReader } from "./blob-store.js";
import { tempNameFor, fsyncDir } from "../fsutil/atomic.js";
import { hexOf, type Digest } from "./digest.js";
import { isIndexType } from "./mediatypes.js";
import { REF_NAME_ANNOTATION, type Descriptor, type ImageIndex, type ImageManifest } from "./types.js";
import { MediaType } from "./mediatypes.js";

export interface ArchiveOptions {
  /** Written as `org.opencontainers.image.ref.name` on the index.json entry and as the docker RepoTag. */
  refName?: string;
  signal?: AbortSignal;
}

/** The blobs an image needs, in a fixed order: the root, nested manifests, configs, layers. */
export async function collectBlobs(store: BlobReader, root: Descriptor): Promise<{ blobs: Descriptor[]; manifests: Array<{ descriptor: Descriptor; manifest: ImageManifest }> }> {
  const seen = new Set<Digest>();
  const blobs: Descriptor[] = [];
  const manifests: Array<{ descriptor: Descriptor; manifest: ImageManifest }> = [];
  const add = (d: Descriptor) => {
    if (!seen.has(d.digest)) {
      seen.add(d.digest);
      blobs.push(d);
    }
  };
  async function visit(d: Descriptor): Promise<void> {
    add(d);
    const bytes = await store.readBlob(d.digest);
    if (isIndexType(d.mediaType)) {
      const idx = JSON.parse(bytes.toString("utf8")) as ImageIndex;
      for (const m of idx.manifests) await visit(m);
      return;
    }
    const m = JSON.parse(bytes.toString("utf8")) as ImageManifest;
    manifests.push({ descriptor: d, manifest: m });
    add(m.config);
    for (const l of m.layers) add(l);
  }
  await visit(root);
  return { blobs, manifests };
}

/**
 * Writes the archive to `out` atomically: a temp file beside it, renamed
 * into place once complete. A failure leaves no file at `out`.
 */
export async function writeImageArchive(store: FileBackedBlobs, root: Descriptor, out: string, opts: ArchiveOptions = {}): Promise<void> {
  const target = resolve(out);
  const { blobs, manifests } = await collectBlobs(store, root);
  for (const b of blobs) {
    if (!(await store.hasBlob(b.digest, b.size))) throw new LadingError("NOT_FOUND", `cannot export: blob ${b.digest} is missing from the store`);
  }
  const annotations = { ...root.annotations };
  if (opts.refName) annotations[REF_NAME_ANNOTATION] = opts.refName;
  const entry: Descriptor = { mediaType: root.mediaType, digest: root.digest, size: root.size };
  if (root.platform) entry.platform = root.platform;
  if (Object.keys(annotations).length) entry.annotations = annotations;
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [entry] };
  const dockerManifest = manifests.map(({ manifest }) => ({
    Config: `blobs/sha256/${hexOf(manifest.config.digest)}`,
    RepoTags: opts.refName && manifests.length === 1 ? [dockerTag(opts.refName)] : [],
    Layers: manifest.layers.map((l) => `blobs/sha256/${hexOf(l.digest)}`),
  }));

  const tmp = tempNameFor(target);
  const fh = await open(tmp, "w", 0o644);
  try {
    const out = new ArchiveWriter(fh, opts.signal);
    await out.file("oci-layout", Buffer.from(JSON.stringify({ imageLayoutVersion: "1.0.0" })));
    await out.file("index.json", Buffer.from(JSON.stringify(index)));
    await out.file("manifest.json", Buffer.from(JSON.stringify(dockerManifest)));
    await out.directory("blobs");
    await out.directory("blobs/sha256");
    for (const b of blobs) await out.blob(`blobs/sha256/${hexOf(b.digest)}`, b.size, store, b.digest);
    await out.end();
    await fh.sync();
    await fh.close();
    await rename(tmp, target);
    await fsyncDir(dirname(target));
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw wrapFsError(`exporting to ${target}`, err);
  }
}

/** docker load wants `name:tag`; a bare name gets `:latest`. */
function dockerTag(ref: string): string {
  const lastSlash = ref.lastIndexOf("/");
  const hasTag = ref.slice(lastSlash + 1).includes(":");
  return hasTag ? ref : `${ref}:latest`;
}
