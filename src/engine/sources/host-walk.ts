/**
 * Walks a host directory in tar order, one entry at a time, holding only
 * the directories on the way down (their children's names and stats).
 *
 * Tar order is by whole path, so a directory's own entry and its contents
 * are not always next to each other: "a", "a.b", "a/x" (since "." < "/").
 * Each directory's children are therefore sorted as two kinds of item, the
 * entry itself under its name and its contents under name + "/", and every
 * path below "a/" sorts between "a/" and the next item.
 */
import { constants, lstatSync, readdirSync, readlinkSync, type Stats } from "node:fs";
import { wrapFsError } from "../../errors.js";
import { comparePaths } from "../../oci/path-order.js";
import { createIncludeMatcher, createMatcher, mayContainIncluded } from "../../fsutil/patterns.js";
import type { TreeEntry } from "../tree.js";

export interface HostWalkOptions {
  exclude?: readonly string[];
  include?: readonly string[];
  /** "reset" (default) writes owners as 0:0; "keep" records the files' own uid/gid (for unpacked image content). */
  owners?: "reset" | "keep";
  /** Only this path (relative, clean), if the walk would give it: a lookup without a walk. */
  only?: string;
  /**
   * Walk only below this directory (relative, clean; one the walk enters),
   * giving paths relative to it; the patterns still match paths from `root`.
   */
  under?: string;
  /**
   * Later mtimes are recorded as this (seconds): the build epoch when layers
   * clamp mtimes, so a tree's key follows what its layer will hold, and a
   * fresh checkout (new mtimes, same files) keeps the keys and cached steps
   * of the last one, on this machine or from a registry cache.
   */
  mtimeCeiling?: number;
}

/** What a file digest memo is keyed by: what changes when a file's bytes do. */
export interface StatKey {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

/** A walked entry; files also carry what their digest memo is keyed by. */
export type WalkedEntry = TreeEntry & { stat?: StatKey };

interface Child {
  /** The sort key: the name for the entry itself, name + "/" for a directory's contents. */
  key: string;
  name: string;
  st: ChildStat;
  contents: boolean;
}

/**
 * What the walk keeps of an lstat: a directory's children are held while
 * it is walked (a thousand of them in a directory of a big context), and
 * each Stats object came with four Dates, garbage the main thread's
 * collector had to carry along while packing went on.
 */
interface ChildStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
  nlink: number;
  dev: number;
}

function childStat(s: Stats): ChildStat {
  return { mode: s.mode, uid: s.uid, gid: s.gid, size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, ino: s.ino, nlink: s.nlink, dev: s.dev };
}

const kind = (s: ChildStat): number => s.mode & constants.S_IFMT;
const isDirectory = (s: ChildStat): boolean => kind(s) === constants.S_IFDIR;
const isFile = (s: ChildStat): boolean => kind(s) === constants.S_IFREG;
const isSymbolicLink = (s: ChildStat): boolean => kind(s) === constants.S_IFLNK;
const isFIFO = (s: ChildStat): boolean => kind(s) === constants.S_IFIFO;

type Matcher = (relPath: string, isDir: boolean) => boolean;

/**
 * The entries below `root` (an absolute directory path; not itself an
 * entry), in tar order. Symlinks are not followed; sockets and device nodes
 * are skipped (they do not belong in a build context). With `exclude` and
 * `include` (docker's .dockerignore semantics), a directory is an entry
 * when it is kept itself or something below it is.
 */
export function* walkHost(root: string, opts: HostWalkOptions = {}): Generator<WalkedEntry> {
  const exclude = opts.exclude?.length ? opts.exclude : undefined;
  const excluded: Matcher | undefined = exclude ? createMatcher([...exclude]) : undefined;
  const included: Matcher | undefined = opts.include?.length ? createIncludeMatcher([...opts.include]) : undefined;
  const keep = opts.owners === "keep";
  const ceiling = opts.mtimeCeiling;

  /** Whether the walk goes into directory `r` (an excluded one only when an exception "!…" may bring something back). */
  const enters = (r: string, ex: boolean): boolean => !ex || mayContainIncluded(exclude ?? [], r);
  const keptDir = (r: string, ex: boolean): boolean => !ex && (!included || included(r, true) || ancestorIncluded(included, r));
  const keptFile = (r: string): boolean => !excluded?.(r, false) && (!included || included(r, false) || ancestorIncluded(included, r));
  const under = opts.under ?? "";
  /** The entry's path: from `under`. */
  const cut = under ? under.length + 1 : 0;

  /** Whether anything below directory `dir` is kept: a look ahead, only for directories not kept themselves. */
  function anyKept(dir: string, rel: string): boolean {
    for (const c of children(dir, rel)) {
      if (c.contents) continue;
      const r = `${rel}/${c.name}`;
      if (isDirectory(c.st)) {
        const ex = excluded ? excluded(r, true) : false;
        if (!enters(r, ex)) continue;
        if (keptDir(r, ex) || anyKept(`${dir}/${c.name}`, r)) return true;
      } else if (writable(c.st) && keptFile(r)) return true;
    }
    return false;
  }

  if (opts.only !== undefined) {
    // One path: its ancestors are gone through as the walk would (entered or not), then it is judged alone.
    const parts = (under ? `${under}/${opts.only}` : opts.only).split("/");
    let dir = root === "/" ? "" : root;
    for (let i = 0; i < parts.length; i++) {
      const r = parts.slice(0, i + 1).join("/");
      const p = `${dir}/${parts[i]}`;
      let s: ChildStat;
      try {
        s = childStat(lstatSync(p));
      } catch {
        return;
      }
      if (i === parts.length - 1) {
        if (isDirectory(s) ? keptDir(r, excluded ? excluded(r, true) : false) || anyKept(p, r) : writable(s) && keptFile(r)) yield entryOf(p, r.slice(cut), s, keep, ceiling);
        return;
      }
      if (!isDirectory(s) || !enters(r, excluded ? excluded(r, true) : false)) return;
      dir = p;
    }
    return;
  }

  function* walk(dir: string, rel: string): Generator<WalkedEntry> {
    for (const c of children(dir, rel)) {
      const p = `${dir}/${c.name}`;
      const r = rel ? `${rel}/${c.name}` : c.name;
      const s = c.st;
      if (isDirectory(s)) {
        const ex = excluded ? excluded(r, true) : false;
        if (!enters(r, ex)) continue;
        if (c.contents) yield* walk(p, r);
        else if (keptDir(r, ex) || anyKept(p, r)) yield entryOf(p, cut ? r.slice(cut) : r, s, keep, ceiling);
        continue;
      }
      if (writable(s) && keptFile(r)) yield entryOf(p, cut ? r.slice(cut) : r, s, keep, ceiling);
    }
  }
  const top = root === "/" ? "" : root;
  yield* walk(under ? `${top}/${under}` : top, under);
}

/** A directory's children in tar order (see the file's comment), as items. */
function children(dir: string, rel: string): Child[] {
  let names: string[];
  try {
    names = readdirSync(dir || "/");
  } catch (err) {
    throw wrapFsError(`reading host directory ${dir || "/"}${rel ? ` (${rel} in the tree)` : ""}`, err);
  }
  const out: Child[] = [];
  // Blocking calls: an async lstat is a thread-pool round trip, ~15× the CPU.
  for (const name of names) {
    const st = childStat(lstatSync(`${dir}/${name}`));
    out.push({ key: name, name, st, contents: false });
    if (isDirectory(st)) out.push({ key: name + "/", name, st, contents: true });
  }
  return out.sort((a, b) => comparePaths(a.key, b.key));
}

function writable(s: ChildStat): boolean {
  return isFile(s) || isSymbolicLink(s) || isFIFO(s) || isDirectory(s);
}

// Each entry is made whole in one literal (adding fields later gives it a
// separate property array), with only what the tree needs.
function entryOf(p: string, r: string, s: ChildStat, keep: boolean, ceiling: number | undefined): WalkedEntry {
  const mode = s.mode & 0o7777;
  const uid = keep ? s.uid : 0;
  const gid = keep ? s.gid : 0;
  const mtime = ceiling === undefined ? Math.floor(s.mtimeMs / 1000) : Math.min(Math.floor(s.mtimeMs / 1000), ceiling);
  if (isDirectory(s)) return { path: r, type: "directory", mode, uid, gid, mtime };
  if (isFile(s)) {
    const stat: StatKey = { size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, ino: s.ino };
    return { path: r, type: "file", mode, uid, gid, mtime, size: s.size, content: { kind: "host", path: p }, linkId: s.nlink > 1 ? `${s.dev}:${s.ino}` : undefined, stat };
  }
  if (isSymbolicLink(s)) return { path: r, type: "symlink", mode, uid, gid, mtime, linkname: readlinkSync(p) };
  return { path: r, type: "fifo", mode, uid, gid, mtime };
}

function ancestorIncluded(included: Matcher, rel: string): boolean {
  const parts = rel.split("/");
  for (let i = 1; i < parts.length; i++) if (included(parts.slice(0, i).join("/"), true)) return true;
  return false;
}
