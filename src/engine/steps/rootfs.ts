/**
 * Reading files back out of a container: its layers are unpacked once into
 * a root filesystem kept in the store by chain id (shared by every reader),
 * then paths are resolved inside it with chroot semantics.
 */
import { lstat, mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { followInScope, hostLookup } from "../../fsutil/scoped-path.js";
import { join, posix } from "node:path";
import { LadingError } from "../../errors.js";
import { chainIds, hexOf } from "../../oci/digest.js";
import type { LayerRef } from "../../oci/types.js";
import type { Session } from "../session.js";
import type { ImageState } from "../image-state.js";
import { EMPTY_TREE, type Tree } from "../tree.js";
import { readHostDirectory } from "../sources/host.js";
import { hostFileEntry } from "../sources/host-file.js";
import type { FileValue, StepContext } from "../step-context.js";
import { ensureLayers } from "../registry-cache/lazy.js";

const isRoot = process.getuid?.() === 0;

/** The unpacked root filesystem of `layers` (created on first use; later calls reuse it). */
export async function materializeRootfs(session: Session, layers: readonly LayerRef[]): Promise<string> {
  const dir = await session.store.stateDir("rootfs");
  if (layers.length === 0) {
    const empty = join(dir, "empty");
    await mkdir(empty, { recursive: true });
    return empty;
  }
  const top = chainIds(layers.map((l) => l.diffId)).at(-1)!;
  const target = join(dir, hexOf(top));
  if (await isDir(target)) {
    // In use again: garbage collection must see it as recent.
    await session.store.touch({ path: target });
    return target;
  }
  await ensureLayers(session, layers);
  // Loaded on first use: reading files back is rarer than building.
  const { extractLayerBlob } = await import("../../oci/extract.js");
  // The tree is unpacked inside a private temp dir: the store's temp folder may be a group's (a shared store).
  const tmp = session.store.tempPath("rootfs");
  const tree = join(tmp, "root");
  await mkdir(tmp, { mode: 0o700 });
  try {
    await mkdir(tree);
    for (const layer of layers) await extractLayerBlob(session.store, layer, tree, { applyWhiteouts: true, chown: isRoot });
    await writeFile(join(dir, hexOf(top) + ".complete"), "");
    await rename(tree, target).catch((err: NodeJS.ErrnoException) => {
      // Another process unpacked the same layers first: theirs is as good as ours.
      if (err.code !== "ENOTEMPTY" && err.code !== "EEXIST") throw err;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return target;
}

/** Resolves `path` inside `root` as if `root` were `/`, following symlinks without ever leaving it. */
export async function resolveInRoot(root: string, path: string, followLast = true): Promise<string> {
  return join(root, (await followInScope(path, hostLookup(root), { followLast, missing: "keep" }))!);
}

export async function readContainerPath(ev: StepContext, state: ImageState, path: string): Promise<Tree> {
  const abs = posix.resolve("/", state.config.WorkingDir || "/", path);
  if (state.layers.length === 0) {
    if (abs === "/") return EMPTY_TREE;
    throw new LadingError("NOT_FOUND", `directory ${path} not found in the container (it has no layers)`);
  }
  const root = await ev.once(`rootfs:${state.key}`, () => materializeRootfs(ev.session, state.layers));
  const p = await resolveInRoot(root, abs);
  if (!(await isDir(p))) throw new LadingError("NOT_FOUND", `directory ${path} not found in the container`);
  return readHostDirectory(p, { owners: isRoot ? "keep" : "reset" });
}

export async function readContainerFile(ev: StepContext, state: ImageState, path: string): Promise<FileValue> {
  const abs = posix.resolve("/", state.config.WorkingDir || "/", path);
  const root = await ev.once(`rootfs:${state.key}`, () => materializeRootfs(ev.session, state.layers));
  const p = await resolveInRoot(root, abs);
  try {
    await stat(p);
  } catch {
    throw new LadingError("NOT_FOUND", `file ${path} not found in the container`);
  }
  const f = await hostFileEntry(p);
  if (isRoot) {
    const s = await lstat(p);
    return { ...f, uid: s.uid, gid: s.gid };
  }
  return f;
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}
