/**
 * Brings images from local sources into the store: an OCI layout
 * directory (`oci:DIR[:TAG]`), an OCI or docker-save tar archive
 * (`oci-archive:FILE[:TAG]`, `import(file)`). Every blob is verified
 * against its name while it is copied; nothing unverified is stored.
 */
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { LadingError } from "../errors.js";
import { readBlobHead, type BlobStore } from "./blob-store.js";
import { assertDigest, isDigest, type Digest } from "./digest.js";
import { LayoutBlobs } from "./layout-blobs.js";
import { MediaType, isIndexType, isManifestType } from "./mediatypes.js";
import { pickManifest } from "./platform-match.js";
import { REF_NAME_ANNOTATION, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest, type Platform } from "./types.js";

/** Reads blobs from wherever an image comes from. */
interface BlobSource {
  readonly where: string;
  index(): Promise<ImageIndex>;
  /** Copies a blob into the store, verified. */
  copy(store: BlobStore, d: Descriptor, role: "manifest" | "config" | "layer"): Promise<void>;
  /** Reads a manifest or index copied before (default: back from the store). */
  read?(store: BlobStore, d: Digest): Promise<Buffer>;
}

/**
 * Manifests and configs of a layout import that are read (verified) into
 * `held` and written to the store in the background: `writes` settle when
 * they are stored. Manifests the store had already are kept in `held` too,
 * as read from it (verified). A push from the layout goes on with the bytes in memory
 * while the disk syncs (bench/README.md, "whole"); the caller awaits the
 * writes before it is done.
 */
export interface DeferredWrites {
  held: Map<Digest, Buffer>;
  writes: Array<Promise<void>>;
}

/**
 * Imports the image `tag` (or the only one) of the OCI layout at `dir`; returns its manifest descriptor as stored.
 * With `leaveLayers`, layers the store lacks are not copied but listed there (digest → size) after a check that
 * the layout has them at that size: the caller reads them in place (oci/layout-blobs.ts). With `defer`, the
 * manifests and config are verified into memory and stored in the background (see DeferredWrites). `seen` gets
 * the index the manifest was picked from, if any.
 */
export async function importLayoutDir(
  store: BlobStore,
  dir: string,
  tag: string | undefined,
  platform: Platform,
  opts: { leaveLayers?: Map<Digest, number>; seen?: SeenIndex; defer?: DeferredWrites } = {},
): Promise<Descriptor> {
  const abs = resolve(dir);
  const same = resolve(store.location) === abs;
  const src: BlobSource = {
    where: `oci:${abs}`,
    async index() {
      try {
        return JSON.parse(await readFile(join(abs, "index.json"), "utf8")) as ImageIndex;
      } catch (err) {
        throw new LadingError("NOT_FOUND", `${abs} is not an OCI image layout (no readable index.json)`, { cause: err });
      }
    },
    async copy(s, d, role) {
      if (same || (await s.claimBlob(d.digest, d.size))) return;
      const p = join(abs, "blobs", "sha256", d.digest.slice(7));
      let size: number;
      try {
        size = (await stat(p)).size;
      } catch (err) {
        throw new LadingError("INVALID_IMAGE", `${abs}: blob ${d.digest} is referenced but missing`, { cause: err });
      }
      const leave = role === "layer" ? opts.leaveLayers : undefined;
      const defer = role === "layer" ? undefined : opts.defer;
      if ((leave || defer) && size !== d.size) throw new LadingError("DIGEST_MISMATCH", `${abs}: blob ${d.digest} has ${size} bytes, its descriptor says ${d.size}`);
      if (leave) {
        leave.set(d.digest, d.size);
        return;
      }
      if (defer) {
        const bytes = await new LayoutBlobs(abs, `oci:${abs}`).read(d.digest); // verified against its name
        defer.held.set(d.digest, bytes);
        const write = s.putBlob(bytes, { digest: d.digest, size: d.size }).then(() => undefined);
        write.catch(() => {}); // the caller awaits it; this only keeps a failure from counting as unhandled meanwhile
        defer.writes.push(write);
        return;
      }
      await s.putBlob(createReadStream(p), { digest: d.digest, size: d.size });
    },
    // Deferred: what is read is kept (verified either way), so the push that follows reads nothing twice.
    read: async (s, d) => {
      const held = opts.defer?.held;
      const bytes = held?.get(d) ?? (await s.readBlob(d));
      held?.set(d, bytes);
      return bytes;
    },
  };
  return importFrom(store, src, tag, platform, opts.seen);
}

/**
 * Imports from a tar archive of an OCI layout (also gzip-compressed), or a
 * `docker save` archive. All blobs in the archive are streamed into the
 * store in one pass, each verified against its file name.
 */
export async function importArchive(store: BlobStore, file: string, tag: string | undefined, platform: Platform, seen?: SeenIndex): Promise<Descriptor> {
  const abs = resolve(file);
  // Only archives need a tar reader and gunzip: a layout import (every push of oci:DIR) loads neither.
  const { default: tar } = await import("tar-stream");
  const { createGunzip } = await import("node:zlib");
  const texts = new Map<string, Buffer>();
  const otherFiles = new Map<string, Digest>();
  const extract = tar.extract();
  const done = (async () => {
    for await (const entry of extract) {
      const name = entry.header.name.replace(/^\.\//, "").replace(/^\/+/, "");
      const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name);
      if (entry.header.type !== "file") {
        entry.resume();
        continue;
      }
      if (m) {
        await store.putBlob(entry as unknown as Readable, { digest: `sha256:${m[1]}` as Digest, size: entry.header.size });
      } else if (name === "index.json" || name === "manifest.json" || name === "oci-layout") {
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        texts.set(name, Buffer.concat(chunks));
      } else if (name.endsWith(".json") || name.endsWith(".tar") || name.endsWith("layer.tar") || /\.tar(\.gz)?$/.test(name) || /^[a-f0-9]{64}(\/layer\.tar|\.json)?$/.test(name)) {
        // docker-save layouts name layers and configs by path; store them and remember which path is which blob.
        const info = await store.putBlob(entry as unknown as Readable);
        otherFiles.set(name, info.digest);
      } else {
        entry.resume();
      }
    }
  })();
  try {
    const head = Buffer.alloc(2);
    const fh = await import("node:fs/promises").then((f) => f.open(abs, "r"));
    try {
      await fh.read(head, 0, 2, 0);
    } finally {
      await fh.close();
    }
    const gz = head[0] === 0x1f && head[1] === 0x8b;
    const input = gz ? createReadStream(abs).pipe(createGunzip()) : createReadStream(abs);
    await Promise.all([pipeline(input, extract), done]);
  } catch (err) {
    if (err instanceof LadingError) throw err;
    throw new LadingError("INVALID_IMAGE", `reading image archive ${abs}: ${(err as Error).message}`, { cause: err });
  }
  const indexBytes = texts.get("index.json");
  if (indexBytes) {
    const src: BlobSource = {
      where: `oci-archive:${abs}`,
      async index() {
        return parseJson<ImageIndex>(indexBytes, `${abs}: index.json`);
      },
      async copy(s, d) {
        if (!(await s.hasBlob(d.digest, d.size))) throw new LadingError("INVALID_IMAGE", `${abs}: blob ${d.digest} is referenced but not in the archive`);
      },
    };
    return importFrom(store, src, tag, platform, seen);
  }
  const dockerManifest = texts.get("manifest.json");
  if (dockerManifest) return importDockerSave(store, abs, parseJson(dockerManifest, `${abs}: manifest.json`), otherFiles, tag);
  throw new LadingError("INVALID_IMAGE", `${abs} is neither an OCI archive (no index.json) nor a docker-save archive (no manifest.json)`);
}

/** Filled with the index the platform's manifest was picked from, when the source named one (stored beside it). */
export interface SeenIndex {
  index?: Descriptor;
}

async function importFrom(store: BlobStore, src: BlobSource, tag: string | undefined, platform: Platform, seen?: SeenIndex): Promise<Descriptor> {
  const manifests = layoutManifests(await src.index(), src.where);
  let candidates = manifests;
  if (tag !== undefined) {
    candidates = manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] === tag);
    if (candidates.length === 0) throw new LadingError("NOT_FOUND", `${src.where}: tag "${tag}" not found; ${tagsOf(manifests)}`);
  } else if (candidates.length === 0) {
    throw new LadingError("NOT_FOUND", `${src.where} holds no image (its index.json lists no manifests)`);
  }
  let chosen = candidates.length === 1 ? candidates[0]! : pickManifest(candidates, platform, src.where);
  // Walk nested indexes down to one image manifest for the platform.
  for (let depth = 0; isIndexType(chosen.mediaType) && depth < 4; depth++) {
    await src.copy(store, chosen, "manifest");
    if (seen && !seen.index) seen.index = { mediaType: chosen.mediaType, digest: chosen.digest, size: chosen.size };
    const nested = parseJson<ImageIndex>(await (src.read?.(store, chosen.digest) ?? store.readBlob(chosen.digest)), `${src.where}: index ${chosen.digest}`);
    chosen = pickManifest(nested.manifests, platform, `${src.where} (index ${chosen.digest})`);
  }
  if (!isManifestType(chosen.mediaType)) throw new LadingError("INVALID_IMAGE", `${src.where}: unsupported manifest type ${chosen.mediaType}`);
  assertDigest(chosen.digest, "manifest digest");
  await src.copy(store, chosen, "manifest");
  const manifest = parseJson<ImageManifest>(await (src.read?.(store, chosen.digest) ?? store.readBlob(chosen.digest)), `${src.where}: manifest ${chosen.digest}`);
  for (const d of [manifest.config, ...manifest.layers]) {
    if (!d || !isDigest(d.digest)) throw new LadingError("INVALID_IMAGE", `${src.where}: manifest ${chosen.digest} has an invalid descriptor`);
    await src.copy(store, d, d === manifest.config ? "config" : "layer");
  }
  return { mediaType: chosen.mediaType, digest: chosen.digest, size: chosen.size, ...(chosen.platform ? { platform: chosen.platform } : {}) };
}

/**
 * The manifests list of a layout's index.json. `null` is an empty list:
 * umoci 0.4 writes `"manifests": null` into a layout it has just created
 * (Go's nil slice), and skopeo and umoci read it back as empty.
 */
function layoutManifests(index: ImageIndex, where: string): Descriptor[] {
  const list = (index as { manifests?: unknown }).manifests;
  if (list === null) return [];
  if (!Array.isArray(list)) throw new LadingError("INVALID_IMAGE", `${where}: index.json has no manifests list`);
  return list as Descriptor[];
}

/** What to tell someone whose tag is not there: the tags that are, or that there are none. */
function tagsOf(manifests: readonly Descriptor[]): string {
  const tags = [...new Set(manifests.map((d) => d.annotations?.[REF_NAME_ANNOTATION]).filter((t): t is string => !!t))];
  if (tags.length === 0) return manifests.length === 0 ? "the layout has no images and no tags" : `the layout has no tags (${manifests.length} untagged image${manifests.length === 1 ? "" : "s"}: leave the tag out to use ${manifests.length === 1 ? "it" : "one by platform"})`;
  return `the layout's tags: ${tags.join(", ")}`;
}

interface DockerSaveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

async function importDockerSave(store: BlobStore, file: string, entries: DockerSaveEntry[], files: Map<string, Digest>, tag: string | undefined): Promise<Descriptor> {
  const entry = tag === undefined ? entries[0] : entries.find((e) => (e.RepoTags ?? []).some((t) => t === tag || t.endsWith("/" + tag) || t.split(":").pop() === tag));
  if (!entry) {
    const tags = entries.flatMap((e) => e.RepoTags ?? []);
    throw new LadingError("NOT_FOUND", tag === undefined ? `${file}: manifest.json lists no image` : `${file}: tag "${tag}" not found; ${tags.length ? `the archive's tags: ${tags.join(", ")}` : "the archive has no tags"}`);
  }
  const blobOf = (p: string): Digest => {
    const clean = p.replace(/^\.\//, "");
    const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(clean);
    const d = m ? (`sha256:${m[1]}` as Digest) : files.get(clean);
    if (!d) throw new LadingError("INVALID_IMAGE", `${file}: manifest.json names ${p}, which is not in the archive`);
    return d;
  };
  const cfgDigest = blobOf(entry.Config);
  const cfgBytes = await store.readBlob(cfgDigest);
  const cfg = parseJson<ImageConfig>(cfgBytes, `${file}: ${entry.Config}`);
  const layers: Descriptor[] = [];
  for (const l of entry.Layers) {
    const d = blobOf(l);
    const head = await readBlobHead(store, d, 2);
    const gz = head[0] === 0x1f && head[1] === 0x8b;
    layers.push({ mediaType: gz ? MediaType.ociLayerGzip : MediaType.ociLayer, digest: d, size: (await store.blobSize(d))! });
  }
  if ((cfg.rootfs?.diff_ids ?? []).length !== layers.length) throw new LadingError("INVALID_IMAGE", `${file}: config lists ${cfg.rootfs?.diff_ids?.length ?? 0} diff_ids for ${layers.length} layers`);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: cfgDigest, size: cfgBytes.length },
    layers,
  };
  const m = await store.putJson(manifest);
  return { mediaType: MediaType.ociManifest, digest: m.digest, size: m.size, platform: { os: cfg.os, architecture: cfg.architecture, ...(cfg.variant ? { variant: cfg.variant } : {}) } };
}

function parseJson<T>(bytes: Buffer, what: string): T {
  try {
    return JSON.parse(bytes.toString("utf8")) as T;
  } catch (err) {
    throw new LadingError("INVALID_IMAGE", `${what} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

