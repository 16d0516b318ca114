/**
 * File steps write one new layer straight from their sources: no root
 * filesystem, no runtime. Parent directories of the destination that the
 * image has are not written, so their owner and mode in lower layers stay
 * as they were, as with docker's COPY. Missing parents are left to the
 * extractor (root, 0755) — except when an owner is asked for: then, as
 * BuildKit and buildah do, they are written with that owner (0755), and so
 * is the destination directory itself.
 *
 * A destination that passes through a symbolic link of the image lands
 * where the link leads, resolved inside the image (BuildKit's copy does the
 * same): `/tempest/f` with `/tempest -> /var/lib/tempest` is written as
 * `var/lib/tempest/f`, and the link stays. A destination directory that is
 * itself a link is followed too; a file's own name is not (the file
 * replaces such a link).
 */
import { posix } from "node:path";
import { Readable } from "node:stream";
import type { Digest } from "../../oci/digest.js";
import { whiteoutEntry, type LayerEntry } from "../../oci/layer-entry.js";
import { writeLayer } from "../../oci/layer-writer.js";
import type { LayerRef } from "../../oci/types.js";
import type { ContainerOp } from "../ops.js";
import type { ImageState } from "../image-state.js";
import { layerTimes, type Session } from "../session.js";
import { followInScope } from "../../fsutil/scoped-path.js";
import { resolveOwner } from "../owner.js";
import { cleanRelPath, isWalked, streamLayerEntries, treeToLayerEntries, treeWalk, type LayerEntryOptions, type Tree, type TreeEntry, type WalkedTree } from "../tree.js";
import { filterTree } from "../filter.js";
import { inputAttributes, runStep } from "./run-step.js";
import { cachedLayerStep, layerCacheKey, loggedForCacheExport } from "./step.js";
import { ensureLayers } from "../registry-cache/lazy.js";
import { LadingError } from "../../errors.js";

type Op<T extends ContainerOp["type"]> = Extract<ContainerOp, { type: T }>;

/** Reading the image's layers (tar reader, decompressors) is loaded only for a step on top of layers that must be looked into. */
const layerFiles = () => import("../layer-files.js");

function layerOptions(session: Session) {
  return {
    compression: session.config.compression,
    mediaTypes: session.config.mediaTypes,
    ...layerTimes(session.config),
    signal: session.config.signal,
  };
}

async function ownerOf(session: Session, state: ImageState, owner: string | undefined) {
  return owner ? resolveOwner(session.store, state.layers, owner) : undefined;
}

/** The parents of `path` (relative) that the image lacks, as directories owned by `ids`, outermost first. */
async function ownedMissingParents(session: Session, state: ImageState, path: string, ids: { uid: number; gid: number } | undefined): Promise<LayerEntry[]> {
  if (!ids) return [];
  const parents: string[] = [];
  for (let p = posix.dirname(path); p !== "." && p !== "/" && p !== ""; p = posix.dirname(p)) parents.unshift(p);
  if (parents.length === 0) return [];
  const { missingPaths } = await layerFiles();
  const missing = await missingPaths(session.store, state.layers, parents);
  return missing.map((p) => ({ path: p, type: "directory", mode: 0o755, uid: ids.uid, gid: ids.gid }));
}

/**
 * Where a destination (relative, cleaned) is in the image once the links on
 * its way are followed inside the image; `followLast` for directories.
 */
async function destInImage(session: Session, state: ImageState, path: string, followLast: boolean): Promise<string> {
  // A file right below the root has no link on its way.
  if (state.layers.length === 0 || path === "" || (!followLast && !path.includes("/"))) return path;
  const links = await (await layerFiles()).imageLinks(session.store, state.layers);
  if (links.size === 0) return path;
  const lookup = async (rel: string) => {
    const target = links.get(rel);
    return target !== undefined ? { link: target } : ("present" as const);
  };
  return (await followInScope(path, lookup, { followLast, missing: "keep" }))!;
}

/** Resolves a destination path against the working directory, as docker does for relative COPY targets. */
export function absTarget(state: ImageState, path: string): string {
  return posix.resolve("/", state.config.WorkingDir || "/", path);
}

export function writeNewFileStep(session: Session, state: ImageState, op: Op<"newFile">, key: Digest, name: string): Promise<LayerRef> {
  return cachedLayerStep(session, state, key, name, async () => {
    const ids = await ownerOf(session, state, op.owner);
    const data = Buffer.from(op.contents);
    const path = await destInImage(session, state, cleanRelPath(absTarget(state, op.path)), false);
    if (!path) throw new LadingError("INVALID_ARGUMENT", `withNewFile: "${op.path}" is not a file path`);
    const entry: LayerEntry = { path, type: "file", mode: op.permissions, uid: ids?.uid ?? 0, gid: ids?.gid ?? 0, size: data.length, open: () => Readable.from([data]) };
    return writeLayer(session.store, [...(await ownedMissingParents(session, state, path, ids)), entry], layerOptions(session));
  }, inputAttributes(state));
}

export function writeFileStep(session: Session, state: ImageState, op: Op<"file">, file: TreeEntry & { name: string }, key: Digest, name: string): Promise<LayerRef> {
  return cachedLayerStep(session, state, key, name, async () => {
    const ids = await ownerOf(session, state, op.owner);
    const path = await destInImage(session, state, cleanRelPath(absTarget(state, op.path)), false);
    if (!path) throw new LadingError("INVALID_ARGUMENT", `withFile: "${op.path}" is not a file path`);
    const entries = treeToLayerEntries([{ ...file, path: "" }], path, { uid: ids?.uid ?? 0, gid: ids?.gid ?? 0, permissions: op.permissions });
    return writeLayer(session.store, [...(await ownedMissingParents(session, state, path, ids)), ...entries], layerOptions(session));
  }, { ...inputAttributes(state), ...(file.contentDigest ? { "lading.input.source.digest": file.contentDigest } : {}), ...(file.size !== undefined ? { "lading.input.source.size": file.size } : {}) });
}

export function writeDirectoryStep(session: Session, state: ImageState, op: Op<"directory">, tree: Tree, key: Digest, name: string, treeKey: Digest): Promise<LayerRef> {
  return cachedLayerStep(session, state, key, name, async () => {
    const { parents, root, dest, opts } = await directoryPlacement(session, state, op);
    if (isWalked(tree) && !op.exclude.length && !op.include.length) {
      // Walked in tar order and written as it goes: nothing held per file.
      return writeLayer(session.store, walkedLayerEntries(parents, root, dest, opts, tree.walk()), { ...layerOptions(session), sort: "presorted" });
    }
    // The layer needs no content digests: a walked tree is walked again, no file read.
    const entries = filterTree([...treeWalk(tree)], op.exclude, op.include);
    const layerEntries = treeToLayerEntries([...root, ...entries], dest, opts).filter((e) => e.path !== "");
    return writeLayer(session.store, [...parents, ...layerEntries], layerOptions(session));
  }, { ...inputAttributes(state), "lading.input.source.digest": treeKey, ...(isWalked(tree) ? {} : { "lading.input.source.entries": tree.entries.length }) });
}

/**
 * writeDirectoryStep for a walked tree whose key would cost a read of every
 * file (WalkedTree.keyCold: no memo knows them, so no cached step can be
 * found by it either): the layer is written first, and the key made of
 * the digests its writer computes from the bytes it reads anyway. Each
 * file is then read once instead of twice. The step's key (`keyOf` the
 * tree's) is known, and its result cached, once the layer is written.
 */
export async function writeDirectoryStepKeyingTree(session: Session, state: ImageState, op: Op<"directory">, tree: WalkedTree, keyOf: (treeKey: Digest) => Digest, name: string, id: string): Promise<{ layer: LayerRef; key: Digest }> {
  const out = await runStep(session, { id, name, attributes: inputAttributes(state) }, async () => {
    await ensureLayers(session, state.layers);
    const { parents, root, dest, opts } = await directoryPlacement(session, state, op);
    const walk = await tree.keyedWalk();
    let written: LayerRef;
    try {
      const entries = walkedLayerEntries(parents, root, dest, opts, walk.entries);
      written = await writeLayer(session.store, entries, { ...layerOptions(session), sort: "presorted", onFileDigest: (d) => walk.fileDigest(d) });
    } catch (err) {
      walk.abort();
      throw err;
    }
    return { layer: written, cacheKey: keyOf(await walk.finish()) };
  });
  const cacheKey = layerCacheKey(session, out.cacheKey);
  await session.store.putCached(cacheKey, { layer: out.layer });
  // Keyed by what it packed: a build cache exported from this session holds it like any other step.
  loggedForCacheExport(session, state.platform, out.cacheKey, cacheKey, out.layer);
  return { layer: out.layer, key: out.cacheKey };
}

/** Where a directory step puts its tree: the destination (links on the way followed), and the owned entries it needs above the tree. */
async function directoryPlacement(session: Session, state: ImageState, op: Op<"directory">) {
  const ids = await ownerOf(session, state, op.owner);
  const dest = await destInImage(session, state, cleanRelPath(absTarget(state, op.path)), true);
  const root: TreeEntry[] = ids && dest ? [{ path: "", type: "directory", mode: op.permissions ?? 0o755, uid: ids.uid, gid: ids.gid }] : [];
  const opts = { uid: ids?.uid, gid: ids?.gid, permissions: op.permissions };
  const parents = dest ? await ownedMissingParents(session, state, dest, ids) : [];
  return { parents, root, dest, opts };
}

function* walkedLayerEntries(parents: readonly LayerEntry[], root: readonly TreeEntry[], dest: string, opts: LayerEntryOptions, walk: Iterable<TreeEntry>): Generator<LayerEntry> {
  yield* parents;
  yield* streamLayerEntries(root, dest, opts);
  yield* streamLayerEntries(walk, dest, opts);
}

export function writeRemoveStep(session: Session, state: ImageState, op: Op<"remove">, key: Digest, name: string): Promise<LayerRef> {
  return cachedLayerStep(session, state, key, name, async () => {
    const path = cleanRelPath(absTarget(state, op.path));
    if (!path) throw new LadingError("INVALID_ARGUMENT", `cannot remove the root directory`);
    return writeLayer(session.store, [whiteoutEntry(path)], layerOptions(session));
  }, inputAttributes(state));
}
