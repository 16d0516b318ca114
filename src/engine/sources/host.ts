/**
 * Reads a host directory into a Tree (metadata plus content digests), with
 * docker's .dockerignore semantics for `exclude` and `include`.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { LadingError, wrapFsError } from "../../errors.js";
import type { Digest } from "../../oci/digest.js";
import { createIncludeMatcher, createMatcher, mayContainIncluded } from "../../fsutil/patterns.js";
import { makeTree, type Tree, type TreeEntry } from "../tree.js";

export interface HostDirectoryOptions {
  exclude?: readonly string[];
  include?: readonly string[];
  /** "reset" (default) writes owners as 0:0; "keep" records the files' own uid/gid (for unpacked image content). */
  owners?: "reset" | "keep";
  /** Remembers file digests by (path, size, mtime, inode, ctime) so unchanged files are not read again. */
  hashCache?: HashCache;
}

/** A file-digest memo keyed by what changes when a file's bytes do. */
export interface HashCache {
  get(path: string, stat: StatKey): Digest | undefined;
  set(path: string, stat: StatKey, digest: Digest): void;
}
export interface StatKey {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

const HASH_CONCURRENCY = 8;

/**
 * Walks `root` (not following symlinks) into a Tree. Owners are reset to
 * 0:0, as docker's COPY does: the building user's ids must not leak into
 * images. Sockets are skipped.
 */
export async function readHostDirectory(root: string, opts: HostDirectoryOptions = {}): Promise<Tree> {
  const abs = resolve(root);
  let st;
  try {
    st = await lstat(abs);
  } catch (err) {
    throw new LadingError("NOT_FOUND", `host directory ${abs} does not exist`, { cause: err });
  }
  if (!st.isDirectory()) throw new LadingError("INVALID_ARGUMENT", `host path ${abs} is not a directory`);
  const excluded = opts.exclude?.length ? createMatcher([...opts.exclude]) : undefined;
  const included = opts.include?.length ? createIncludeMatcher([...opts.include]) : undefined;
  const entries: TreeEntry[] = [];
  const files: TreeEntry[] = [];
  const stats = new Map<TreeEntry, StatKey>();
  const keep = opts.owners === "keep";

  async function walk(dir: string, rel: string): Promise<boolean> {
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch (err) {
      throw wrapFsError(`reading host directory ${dir}`, err);
    }
    let any = false;
    for (const name of names) {
      const p = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const s = await lstat(p);
      const isDir = s.isDirectory();
      const ex = excluded ? excluded(r, isDir) : false;
      if (isDir) {
        // An excluded directory is entered only when an exception ("!…") may bring something back.
        if (ex && !mayContainIncluded(opts.exclude ?? [], r)) continue;
        const start = entries.length;
        const dirEntry: TreeEntry = { path: r, type: "directory", mode: s.mode & 0o7777, uid: keep ? s.uid : 0, gid: keep ? s.gid : 0, mtime: Math.floor(s.mtimeMs / 1000) };
        entries.push(dirEntry);
        const childAny = await walk(p, r);
        const self = !ex && (!included || included(r, true) || ancestorIncluded(included, r));
        if (!self && !childAny) entries.splice(start, 1);
        else any = true;
        continue;
      }
      if (ex) continue;
      if (included && !included(r, false) && !ancestorIncluded(included, r)) continue;
      const base: TreeEntry = { path: r, type: "file", mode: s.mode & 0o7777, uid: keep ? s.uid : 0, gid: keep ? s.gid : 0, mtime: Math.floor(s.mtimeMs / 1000) };
      if (s.isFile()) {
        base.size = s.size;
        base.content = { kind: "host", path: p };
        stats.set(base, { size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, ino: s.ino });
        files.push(base);
      } else if (s.isSymbolicLink()) {
        base.type = "symlink";
        base.linkname = await readlink(p);
      } else if (s.isFIFO()) {
        base.type = "fifo";
      } else continue; // sockets and device nodes do not belong in a build context
      entries.push(base);
      any = true;
    }
    return any;
  }
  await walk(abs, "");
  await hashAll(files, stats, opts.hashCache);
  return makeTree(entries);
}

function ancestorIncluded(included: (p: string, d: boolean) => boolean, rel: string): boolean {
  const parts = rel.split("/");
  for (let i = 1; i < parts.length; i++) if (included(parts.slice(0, i).join("/"), true)) return true;
  return false;
}

async function hashAll(files: TreeEntry[], stats: Map<TreeEntry, StatKey>, cache?: HashCache): Promise<void> {
  let next = 0;
  async function worker(): Promise<void> {
    while (next < files.length) {
      const f = files[next++]!;
      const path = (f.content as { path: string }).path;
      const st = stats.get(f)!;
      const known = cache?.get(path, st);
      if (known) {
        f.contentDigest = known;
        continue;
      }
      f.contentDigest = await hashFile(path);
      cache?.set(path, st, f.contentDigest);
    }
  }
  await Promise.all(Array.from({ length: Math.min(HASH_CONCURRENCY, files.length) }, worker));
}

export async function hashFile(path: string): Promise<Digest> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return `sha256:${h.digest("hex")}`;
}
