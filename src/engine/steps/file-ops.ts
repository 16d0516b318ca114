/**
 * File steps write one new layer straight from their sources: no root
 * filesystem, no runtime. Parent directories of the destination that the
 * image has are not written, so their owner and mode in lower layers stay
 * as they were, as with docker's COPY. Missing parents are left to the
 * extractor (root, 0755) — except when an owner is asked for: then, as
 * BuildKit and buildah do, they are written with that owner (0755), and so
 * is the destination directory itself.
 */
import { posix } from "node:path";
import { Readable } from "node:stream";
import type { Digest } from "../../oci/digest.js";
import { whiteoutEntry, type LayerEntry } from "../../oci/layer-entry.js";
import { writeLayer } from "../../oci/layer-writer.js";
import type { LayerRef } from "../../oci/types.js";
import type { ContainerOp } from "../ops.js";
import type { ImageState } from "../image-state.js";
import type { Session } from "../session.js";
import { missingPaths } from "../layer-files.js";
import { resolveOwner } from "../owner.js";
import { cleanRelPath, treeToLayerEntries, type Tree, type TreeEntry } from "../tree.js";
import { filterTree } from "../filter.js";
import { cachedLayerStep, inputAttributes } from "./step.js";
import { LadingError } from "../../errors.js";

type Op<T extends ContainerOp["type"]> = Extract<ContainerOp, { type: T }>;

function layerOptions(session: Session) {
  return {
    compression: session.config.compression,
    mediaTypes: session.config.mediaTypes,
    sourceDateEpoch: session.config.sourceDateEpoch,
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
  const missing = await missingPaths(session.store, state.layers, parents);
  return missing.map((p) => ({ path: p, type: "directory", mode: 0o755, uid: ids.uid, gid: ids.gid }));
}

/** Resolves a destination path against the working directory, as docker does for relative COPY targets. */
export function absTarget(state: ImageState, path: string): string {
  return posix.resolve("/", state.config.WorkingDir || "/", path);
}

export function writeNewFileStep(session: Session, state: ImageState, op: Op<"newFile">, key: Digest, name: string): Promise<LayerRef> {
  return cachedLayerStep(session, key, name, async () => {
    const ids = await ownerOf(session, state, op.owner);
    const data = Buffer.from(op.contents);
    const path = cleanRelPath(absTarget(state, op.path));
    if (!path) throw new LadingError("INVALID_ARGUMENT", `withNewFile: "${op.path}" is not a file path`);
    const entry: LayerEntry = { path, type: "file", mode: op.permissions, uid: ids?.uid ?? 0, gid: ids?.gid ?? 0, size: data.length, open: () => Readable.from([data]) };
    return writeLayer(session.store, [...(await ownedMissingParents(session, state, path, ids)), entry], layerOptions(session));
  }, inputAttributes(state));
}

export function writeFileStep(session: Session, state: ImageState, op: Op<"file">, file: TreeEntry & { name: string }, key: Digest, name: string): Promise<LayerRef> {
  return cachedLayerStep(session, key, name, async () => {
    const ids = await ownerOf(session, state, op.owner);
    const path = cleanRelPath(absTarget(state, op.path));
    if (!path) throw new LadingError("INVALID_ARGUMENT", `withFile: "${op.path}" is not a file path`);
    const entries = treeToLayerEntries([{ ...file, path: "" }], path, { uid: ids?.uid ?? 0, gid: ids?.gid ?? 0, permissions: op.permissions });
    return writeLayer(session.store, [...(await ownedMissingParents(session, state, path, ids)), ...entries], layerOptions(session));
  }, { ...inputAttributes(state), ...(file.contentDigest ? { "lading.input.source.digest": file.contentDigest } : {}), ...(file.size !== undefined ? { "lading.input.source.size": file.size } : {}) });
}

export function writeDirectoryStep(session: Session, state: ImageState, op: Op<"directory">, tree: Tree, key: Digest, name: string): Promise<LayerRef> {
  return cachedLayerStep(session, key, name, async () => {
    const ids = await ownerOf(session, state, op.owner);
    const dest = cleanRelPath(absTarget(state, op.path));
    const entries = filterTree(tree.entries, op.exclude, op.include);
    const withRoot: TreeEntry[] = ids && dest ? [{ path: "", type: "directory", mode: op.permissions ?? 0o755, uid: ids.uid, gid: ids.gid }, ...entries] : entries;
    const layerEntries = treeToLayerEntries(withRoot, dest, { uid: ids?.uid, gid: ids?.gid, permissions: op.permissions }).filter((e) => e.path !== "");
    const parents = dest ? await ownedMissingParents(session, state, dest, ids) : [];
    return writeLayer(session.store, [...parents, ...layerEntries], layerOptions(session));
  }, { ...inputAttributes(state), "lading.input.source.digest": tree.key, "lading.input.source.entries": tree.entries.length });
}

export function writeRemoveStep(session: Session, state: ImageState, op: Op<"remove">, key: Digest, name: string): Promise<LayerRef> {
  return cachedLayerStep(session, key, name, async () => {
    const path = cleanRelPath(absTarget(state, op.path));
    if (!path) throw new LadingError("INVALID_ARGUMENT", `cannot remove the root directory`);
    return writeLayer(session.store, [whiteoutEntry(path)], layerOptions(session));
  }, inputAttributes(state));
}
