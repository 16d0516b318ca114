/**
 * Reads a host directory into a Tree (metadata plus content digests), with
 * docker's .dockerignore semantics for `exclude` and `include`.
 */
import { createHash } from "node:crypto";
import { closeSync, lstatSync, readSync, readdirSync, readlinkSync } from "node:fs";
import { lstat } from "node:fs/promises";
import { setImmediate as nextTurn } from "node:timers/promises";
import { join, resolve } from "node:path";
import { LadingError, wrapFsError } from "../../errors.js";
import type { Digest } from "../../oci/digest.js";
import { openListedFile } from "../../fsutil/listed-file.js";
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

/** Entries walked between turns of the event loop (~1 ms of lstat calls). */
const YIELD_EVERY = 500;

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
  // Files still to hash, with what the hash cache is keyed by (parallel
  // arrays: no Map entry or Stats object held per file).
  const files: TreeEntry[] = [];
  const fileStats: StatKey[] = [];
  const cache = opts.hashCache;
  const keep = opts.owners === "keep";

  // Blocking calls (an async lstat is a thread-pool round trip: ~15× the
  // CPU); the event loop gets a turn every YIELD_EVERY entries.
  let sinceYield = 0;
  async function walk(dir: string, rel: string): Promise<boolean> {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (err) {
      throw wrapFsError(`reading host directory ${dir}`, err);
    }
    sinceYield += names.length;
    if (sinceYield >= YIELD_EVERY) {
      sinceYield = 0;
      await nextTurn();
    }
    let any = false;
    for (const name of names) {
      const p = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const s = lstatSync(p);
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
      // Each entry is made whole in one literal (adding fields later gives
      // it a separate property array), with only what the Tree needs.
      const mode = s.mode & 0o7777;
      const uid = keep ? s.uid : 0;
      const gid = keep ? s.gid : 0;
      const mtime = Math.floor(s.mtimeMs / 1000);
      let e: TreeEntry;
      if (s.isFile()) {
        const key: StatKey = { size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, ino: s.ino };
        e = { path: r, type: "file", mode, uid, gid, mtime, size: s.size, content: { kind: "host", path: p }, contentDigest: cache?.get(p, key) };
        if (e.contentDigest === undefined) {
          files.push(e);
          fileStats.push(key);
        }
      } else if (s.isSymbolicLink()) {
        e = { path: r, type: "symlink", mode, uid, gid, mtime, linkname: readlinkSync(p) };
      } else if (s.isFIFO()) {
        e = { path: r, type: "fifo", mode, uid, gid, mtime };
      } else continue; // sockets and device nodes do not belong in a build context
      entries.push(e);
      any = true;
    }
    return any;
  }
  await walk(abs, "");
  await hashAll(files, fileStats, cache);
  return makeTree(entries);
}

function ancestorIncluded(included: (p: string, d: boolean) => boolean, rel: string): boolean {
  const parts = rel.split("/");
  for (let i = 1; i < parts.length; i++) if (included(parts.slice(0, i).join("/"), true)) return true;
  return false;
}

/** Read size for hashing: one buffer, reused for every file. */
const HASH_READ_SIZE = 256 * 1024;
/** Bytes hashed between turns of the event loop (a few ms of work). */
const TURN_BYTES = 8 * 1024 * 1024;

async function hashAll(files: TreeEntry[], stats: StatKey[], cache?: HashCache): Promise<void> {
  const buf = Buffer.allocUnsafe(HASH_READ_SIZE);
  let sinceTurn = 0;
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    const path = (f.content as { path: string }).path;
    f.contentDigest = await hashFile(path, buf);
    cache?.set(path, stats[i]!, f.contentDigest);
    sinceTurn += (f.size ?? 0) + 4096;
    if (sinceTurn >= TURN_BYTES) {
      sinceTurn = 0;
      await nextTurn();
    }
  }
}

/**
 * The sha256 of a file's bytes. `buf` is scratch space to read into (reused
 * across files by callers hashing many). Blocking reads: for the small
 * files a build context is mostly made of, an async read costs a
 * thread-pool round trip per call, ~15× the CPU; the event loop gets a
 * turn every TURN_BYTES.
 */
export async function hashFile(path: string, buf: Buffer = Buffer.allocUnsafe(HASH_READ_SIZE)): Promise<Digest> {
  const h = createHash("sha256");
  const fd = openListedFile(path);
  try {
    let sinceTurn = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      sinceTurn += n;
      if (sinceTurn >= TURN_BYTES) {
        sinceTurn = 0;
        await nextTurn();
      }
    }
  } finally {
    closeSync(fd);
  }
  return `sha256:${h.digest("hex")}`;
}
