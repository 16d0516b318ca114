/**
 * A root filesystem's changes as layer entries (OCI layer changeset rules):
 *
 * - overlayDiff reads the overlay upper dir. Whiteouts are the char 0/0
 *   devices overlayfs makes; opaque directories are found without reading
 *   overlayfs's xattrs (whose names differ as root and in a user namespace):
 *   since the lower dir is one flattened snapshot, a directory in the upper
 *   dir is opaque exactly when a name of the lower directory is neither in
 *   the upper dir (as an entry or a whiteout) nor visible in the merged view.
 * - copyDiff compares a copied root filesystem with the snapshot it was
 *   copied from by metadata: type, mode, owner, size, mtime (ns), link
 *   target, device numbers, extended attributes. A content change that keeps
 *   size and mtime is missed, like every metadata differ (containerd's
 *   "continuity" does the same).
 *
 * Both give the same entries for the same change: a directory is an entry
 * when it is new, its mode, owner or xattrs changed, or something below it
 * did (its mtime alone does not count, since mounting stubs touches it).
 * Hard links within the change become tar hard links to the first path in
 * byte order.
 *
 * /tmp is a step's scratch space (issue 19): a path below it that the
 * lower layers do not have is left out of the layer, as if /tmp were
 * emptied at boot, as most systems do. Those names are often random
 * (mktemp) and their contents times or pids, so keeping them would make
 * every run's layer differ. What the image already has there is treated
 * like any other path: a change or a deletion is recorded.
 *
 * Extended attributes (see xattrs.ts for which are carried) are read with
 * getfattr, never one process per file: overlayDiff reads the upper dir's
 * entries (exactly the changed files: copy-up copies a file's xattrs, so an
 * xattr-only change shows as a copied-up file) and, in the same process,
 * the lower twins of directories that look unchanged, so an xattr-only
 * change on a directory counts (one process, ~1.5 ms, per exec with
 * changes). copyDiff must compare every file, since setting an xattr
 * changes only ctime, which a copy cannot keep: one `getfattr -R` over both
 * trees, a listxattr per file of the image (~25 ms per 10,000 files per
 * tree, warm: 0.17 s for the 72,000 of a /usr/lib) on top of the copy
 * itself. Without getfattr, or on a filesystem without xattrs, the layer
 * carries none (and `note` says so); the exec never fails for it.
 */
import type { BigIntStats } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { opaqueEntry, whiteoutEntry, type LayerEntry } from "../oci/layer-entry.js";
import { readXattrs, sameXattrs, type XattrMap } from "./xattrs.js";

/** Hears why extended attributes were left out of a layer (debug output). */
export type DiffNote = (msg: string) => void;

interface Found {
  path: string;
  abs: string;
  st: BigIntStats;
  entry?: LayerEntry; // a marker (whiteout, opaque) when set
  /** A directory whose own metadata matched the lower one's: an entry only if something below it is (see settle). */
  unchanged?: boolean;
}

/** Below /tmp: a new path there is the step's scratch and stays out of the layer. */
function isScratch(path: string): boolean {
  return path.startsWith("tmp/");
}

const lst = (p: string) => lstat(p, { bigint: true }).catch(() => undefined);
const names = (p: string) => readdir(p).catch(() => [] as string[]);
const join2 = (rel: string, name: string) => (rel ? `${rel}/${name}` : name);

function isWhiteout(st: BigIntStats): boolean {
  return st.isCharacterDevice() && st.rdev === 0n;
}

function sameMeta(a: BigIntStats, b: BigIntStats): boolean {
  return (a.mode & 0o170000n) === (b.mode & 0o170000n) && (a.mode & 0o7777n) === (b.mode & 0o7777n) && a.uid === b.uid && a.gid === b.gid;
}

/** Decides a changed path's fate in the layer (etc-files.ts runtimeFileVerdict): kept, dropped, or replaced by a file of the lower dir. */
export type PathVerdict = (path: string, abs: string, st: BigIntStats, whiteout: boolean) => Promise<undefined | "drop" | { abs: string; st: BigIntStats }>;

export async function overlayDiff(upperDir: string, lowerDir: string, merged: string, note?: DiffNote, verdict?: PathVerdict): Promise<LayerEntry[]> {
  // Normalised, so that paths built here match the ones getfattr prints.
  const upper = resolve(upperDir);
  const lower = resolve(lowerDir);
  const found: Found[] = [];
  async function walk(rel: string): Promise<number> {
    let emitted = 0;
    for (const name of await names(join(upper, rel))) {
      const path = join2(rel, name);
      const abs = join(upper, path);
      const st = await lst(abs);
      if (!st) continue;
      if (isWhiteout(st)) {
        if ((await verdict?.(path, abs, st, true)) === "drop") continue;
        found.push({ path, abs, st, entry: whiteoutEntry(path) });
        emitted++;
        continue;
      }
      const scratch = isScratch(path);
      // Only directories and scratch paths need their lower twin (an lstat per changed file adds up).
      const low = st.isDirectory() || scratch ? await lst(join(lower, path)) : undefined;
      if (!low && scratch) continue;
      if (!st.isDirectory()) {
        const v = await verdict?.(path, abs, st, false);
        if (v === "drop") continue;
        found.push({ path, ...(v ?? { abs, st }) });
        emitted++;
        continue;
      }
      const wasDir = !!low?.isDirectory();
      const opaque = wasDir && (await isOpaque(path));
      const at = found.length;
      found.push({ path, abs, st });
      if (opaque) found.push({ path, abs, st, entry: opaqueEntry(path) });
      const below = await walk(path);
      if (wasDir && !opaque && below === 0 && sameMeta(st, low!)) found[at].unchanged = true;
      else emitted++;
    }
    return emitted;
  }
  async function isOpaque(path: string): Promise<boolean> {
    const inUpper = new Set(await names(join(upper, path)));
    const inMerged = new Set(await names(join(merged, path)));
    return (await names(join(lower, path))).some((n) => !inUpper.has(n) && !inMerged.has(n));
  }
  await walk("");
  // One getfattr for the upper dir's entries and the lower twins of its unchanged-looking directories.
  const own = found.filter((f) => !f.entry);
  const unchanged = own.filter((f) => f.unchanged);
  const xattrs = own.length ? await readXattrs([...own.map((f) => f.abs), ...unchanged.map((f) => join(lower, f.path))], { note }) : undefined;
  if (xattrs) for (const f of unchanged) if (!sameXattrs(xattrs.get(f.abs), xattrs.get(join(lower, f.path)))) f.unchanged = false;
  return toEntries(settle(found), xattrs);
}

export async function copyDiff(rootfsDir: string, lowerDir: string, note?: DiffNote): Promise<LayerEntry[]> {
  const rootfs = resolve(rootfsDir);
  const lower = resolve(lowerDir);
  const found: Found[] = [];
  async function addTree(path: string, st: BigIntStats): Promise<void> {
    found.push({ path, abs: join(rootfs, path), st });
    if (!st.isDirectory()) return;
    for (const name of await names(join(rootfs, path))) {
      const p = join2(path, name);
      const s = await lst(join(rootfs, p));
      if (s) await addTree(p, s);
    }
  }
  async function walk(rel: string): Promise<number> {
    let emitted = 0;
    const now = await names(join(rootfs, rel));
    const nowSet = new Set(now);
    for (const name of await names(join(lower, rel))) {
      if (!nowSet.has(name)) {
        const path = join2(rel, name);
        found.push({ path, abs: "", st: undefined as unknown as BigIntStats, entry: whiteoutEntry(path) });
        emitted++;
      }
    }
    for (const name of now) {
      const path = join2(rel, name);
      const st = await lst(join(rootfs, path));
      if (!st) continue;
      const low = await lst(join(lower, path));
      if (!low && isScratch(path)) continue;
      if (!low || (low.mode & 0o170000n) !== (st.mode & 0o170000n)) {
        await addTree(path, st);
        emitted++;
        continue;
      }
      if (st.isDirectory()) {
        const at = found.length;
        found.push({ path, abs: join(rootfs, path), st });
        const below = await walk(path);
        if (below === 0 && sameMeta(st, low)) found[at].unchanged = true;
        else emitted++;
        continue;
      }
      if (await changed(path, st, low)) {
        found.push({ path, abs: join(rootfs, path), st });
        emitted++;
      }
    }
    return emitted;
  }
  async function changed(path: string, a: BigIntStats, b: BigIntStats): Promise<boolean> {
    if (!sameMeta(a, b) || a.size !== b.size || a.mtimeNs !== b.mtimeNs || a.rdev !== b.rdev) return true;
    if (a.isSymbolicLink()) return (await readlink(join(rootfs, path))) !== (await readlink(join(lower, path)));
    return false;
  }
  await walk("");
  const xattrs = await readXattrs([rootfs, lower], { recursive: true, note });
  if (xattrs) await addXattrChanges(found, rootfs, lower, xattrs);
  return toEntries(settle(found), xattrs);
}

/**
 * Adds what only an xattr change tells apart: paths in both trees, same
 * type, whose attributes differ (a changed file or new tree is in `found`
 * already; an unchanged directory turns changed).
 */
async function addXattrChanges(found: Found[], rootfs: string, lower: string, xattrs: XattrMap): Promise<void> {
  const rel = (root: string) => {
    const out: XattrMap = new Map();
    for (const [abs, x] of xattrs) if (abs.startsWith(root + "/")) out.set(abs.slice(root.length + 1), x);
    return out;
  };
  const now = rel(rootfs);
  const before = rel(lower);
  const byPath = new Map(found.filter((f) => !f.entry).map((f) => [f.path, f]));
  for (const path of new Set([...now.keys(), ...before.keys()])) {
    if (sameXattrs(now.get(path), before.get(path))) continue;
    const f = byPath.get(path);
    if (f) {
      f.unchanged = false;
      continue;
    }
    // Only below directories the walk went through in both trees (never through a symlink or into a replaced tree).
    const slash = path.lastIndexOf("/");
    if (slash > 0 && !byPath.get(path.slice(0, slash))?.st.isDirectory()) continue;
    const st = await lst(join(rootfs, path));
    const low = await lst(join(lower, path));
    // Gone (a whiteout covers it) or of another type: nothing to add.
    if (!st || !low || (st.mode & 0o170000n) !== (low.mode & 0o170000n)) continue;
    found.push({ path, abs: join(rootfs, path), st });
  }
}

/** Drops unchanged directories with nothing below them in the layer; keeps the others (a parent of a change is an entry, as in docker's layers). */
function settle(found: Found[]): Found[] {
  const needed = new Set<string>();
  for (const f of found) {
    if (f.unchanged) continue;
    for (let i = f.path.lastIndexOf("/"); i > 0; i = f.path.lastIndexOf("/", i - 1)) {
      const dir = f.path.slice(0, i);
      if (needed.has(dir)) break;
      needed.add(dir);
    }
  }
  return found.filter((f) => !f.unchanged || needed.has(f.path));
}

function major(rdev: bigint): number {
  return Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
}
function minor(rdev: bigint): number {
  return Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
}

async function toEntries(found: Found[], xattrs: XattrMap | undefined): Promise<LayerEntry[]> {
  found.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)) || (a.entry ? 1 : 0) - (b.entry ? 1 : 0));
  const firstByInode = new Map<string, string>();
  const out: LayerEntry[] = [];
  for (const f of found) {
    if (f.entry) {
      out.push(f.entry);
      continue;
    }
    const st = f.st;
    const x = xattrs?.get(f.abs);
    const base = { path: f.path, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), mtime: Number(st.mtimeMs / 1000n), ...(x ? { xattrs: x } : {}) };
    if (st.isDirectory()) out.push({ ...base, type: "directory" });
    else if (st.isSymbolicLink()) out.push({ ...base, type: "symlink", linkname: await readlink(f.abs) });
    else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1n ? firstByInode.get(key) : undefined;
      if (first !== undefined) {
        // A link shares the inode: its attributes travel with the first name.
        const { xattrs: _, ...link } = base;
        out.push({ ...link, type: "hardlink", linkname: first });
        continue;
      }
      if (st.nlink > 1n) firstByInode.set(key, f.path);
      out.push({ ...base, type: "file", size: Number(st.size), hostPath: f.abs });
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      out.push({ ...base, type: st.isCharacterDevice() ? "char" : "block", devmajor: major(st.rdev), devminor: minor(st.rdev) });
    } else if (st.isFIFO()) out.push({ ...base, type: "fifo" });
    // Sockets cannot be in a tar; docker and buildah skip them too.
  }
  return out;
}
