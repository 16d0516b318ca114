/**
 * A root filesystem's changes as layer entries (OCI layer changeset rules):
 *
 * - overlayDiff reads the overlay upper dir. Whiteouts are the char 0/0
 *   devices overlayfs makes; opaque directories are found without reading
 *   xattrs (node cannot): since the lower dir is one flattened snapshot, a
 *   directory in the upper dir is opaque exactly when a name of the lower
 *   directory is neither in the upper dir (as an entry or a whiteout) nor
 *   visible in the merged view.
 * - copyDiff compares a copied root filesystem with the snapshot it was
 *   copied from by metadata: type, mode, owner, size, mtime (ns), link
 *   target, device numbers. A change that keeps size and mtime is missed,
 *   like every metadata differ (containerd's "continuity" does the same).
 *
 * Both give the same entries for the same change: a directory is an entry
 * when it is new, its mode or owner changed, or something below it did
 * (its mtime alone does not count, since mounting stubs touches it).
 * Hard links within the change become tar hard links to the first path in
 * byte order. Extended attributes are not carried (node has no xattr API).
 */
import { createReadStream, type BigIntStats } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import { opaqueEntry, whiteoutEntry, type LayerEntry } from "../oci/layer-entry.js";

interface Found {
  path: string;
  abs: string;
  st: BigIntStats;
  entry?: LayerEntry; // a marker (whiteout, opaque) when set
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

export async function overlayDiff(upper: string, lower: string, merged: string): Promise<LayerEntry[]> {
  const found: Found[] = [];
  async function walk(rel: string): Promise<number> {
    let emitted = 0;
    for (const name of await names(join(upper, rel))) {
      const path = join2(rel, name);
      const abs = join(upper, path);
      const st = await lst(abs);
      if (!st) continue;
      if (isWhiteout(st)) {
        found.push({ path, abs, st, entry: whiteoutEntry(path) });
        emitted++;
        continue;
      }
      if (!st.isDirectory()) {
        found.push({ path, abs, st });
        emitted++;
        continue;
      }
      const low = await lst(join(lower, path));
      const wasDir = !!low?.isDirectory();
      const opaque = wasDir && (await isOpaque(path));
      const at = found.length;
      found.push({ path, abs, st });
      if (opaque) found.push({ path, abs, st, entry: opaqueEntry(path) });
      const below = await walk(path);
      if (wasDir && !opaque && below === 0 && sameMeta(st, low!)) found.splice(at, 1);
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
  return toEntries(found);
}

export async function copyDiff(rootfs: string, lower: string): Promise<LayerEntry[]> {
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
      if (!low || (low.mode & 0o170000n) !== (st.mode & 0o170000n)) {
        await addTree(path, st);
        emitted++;
        continue;
      }
      if (st.isDirectory()) {
        const at = found.length;
        found.push({ path, abs: join(rootfs, path), st });
        const below = await walk(path);
        if (below === 0 && sameMeta(st, low)) found.splice(at, 1);
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
  return toEntries(found);
}

function major(rdev: bigint): number {
  return Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
}
function minor(rdev: bigint): number {
  return Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
}

async function toEntries(found: Found[]): Promise<LayerEntry[]> {
  found.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)) || (a.entry ? 1 : 0) - (b.entry ? 1 : 0));
  const firstByInode = new Map<string, string>();
  const out: LayerEntry[] = [];
  for (const f of found) {
    if (f.entry) {
      out.push(f.entry);
      continue;
    }
    const st = f.st;
    const base = { path: f.path, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), mtime: Number(st.mtimeMs / 1000n) };
    if (st.isDirectory()) out.push({ ...base, type: "directory" });
    else if (st.isSymbolicLink()) out.push({ ...base, type: "symlink", linkname: await readlink(f.abs) });
    else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1n ? firstByInode.get(key) : undefined;
      if (first !== undefined) {
        out.push({ ...base, type: "hardlink", linkname: first });
        continue;
      }
      if (st.nlink > 1n) firstByInode.set(key, f.path);
      const abs = f.abs;
      out.push({ ...base, type: "file", size: Number(st.size), open: () => createReadStream(abs) });
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      out.push({ ...base, type: st.isCharacterDevice() ? "char" : "block", devmajor: major(st.rdev), devminor: minor(st.rdev) });
    } else if (st.isFIFO()) out.push({ ...base, type: "fifo" });
    // Sockets cannot be in a tar; docker and buildah skip them too.
  }
  return out;
}
