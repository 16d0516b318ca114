/**
 * A Tree is what a Directory evaluates to: a sorted list of entries with
 * where their bytes come from, and a content key. Nothing is copied until a
 * layer is written from it.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { posix } from "node:path";
import type { Digest } from "../oci/digest.js";
import { canonicalJson } from "../oci/json.js";
import type { LayerEntry } from "../oci/layer-entry.js";

export type ContentSource = { kind: "host"; path: string } | { kind: "bytes"; data: Buffer };

/** A layer entry plus where its bytes come from and their digest (part of the tree's key). */
export interface TreeEntry extends Omit<LayerEntry, "open"> {
  contentDigest?: Digest;
  content?: ContentSource;
  /**
   * Files with more than one name on disk: the inode's identity. Names with
   * the same one become one file and hard links to it when written (see
   * HardLinks), whatever trees they pass through on the way.
   */
  linkId?: string;
}

/** A listing held in memory. */
export interface ListedTree {
  readonly key: Digest;
  readonly entries: readonly TreeEntry[];
}

/**
 * A directory on disk whose listing is not held: its entries are walked
 * again when wanted, and its key is computed only when asked for. Why: a
 * build context of a million files held as entries is over a gigabyte, and
 * a layer needs them one at a time; and a key costs a read of every file
 * the digest memo does not know, which a step packing the tree can do in
 * the same read (keyedWalk), and a lookup or a listing need not do at all.
 */
export interface WalkedTree {
  /** The key (computed once): each file's digest from the memo when it knows the file, else read. */
  computeKey(): Promise<Digest>;
  /**
   * Whether computeKey() would read the files: the memo knows none of them
   * (a directory never keyed with this store) and the key is not known yet.
   */
  keyCold(): Promise<boolean>;
  /** A walk for a layer that is given the digests the layer writer computes and makes the key of them. */
  keyedWalk(): Promise<KeyedWalk>;
  /** The entries in path order (tar order), one at a time, without content digests. */
  walk(): Iterable<TreeEntry>;
  /** Every entry, with content digests, in memory (for what needs the whole listing). */
  list(): Promise<readonly TreeEntry[]>;
  /** The entry at `path` (relative, clean), with its content digest, found without a walk. */
  find(path: string): Promise<TreeEntry | undefined>;
  /** The entry at `path` (relative, clean) without its content digest: one lookup, no walk and no read. */
  lookup(path: string): TreeEntry | undefined;
  /** The tree below `path`, a directory of this one (relative, clean), walked on its own. */
  sub(path: string): WalkedTree;
}

/**
 * The key of a tree computed as a layer is written from it. `entries` is
 * the walk; the layer writer reads the bytes of each of its files that
 * is written as a file (not as a link to an earlier name), in order, and
 * gives each one's digest to fileDigest(). finish() once the layer is
 * written; abort() when it failed (the memo stays as it was).
 */
export interface KeyedWalk {
  readonly entries: Iterable<TreeEntry>;
  fileDigest(digest: Digest): void;
  finish(): Promise<Digest>;
  abort(): void;
}

export type Tree = ListedTree | WalkedTree;

export function isWalked(tree: Tree): tree is WalkedTree {
  return "walk" in tree;
}

/** The tree's key (a walked tree's computed on first use). */
export function treeKey(tree: Tree): Promise<Digest> {
  return isWalked(tree) ? tree.computeKey() : Promise.resolve(tree.key);
}

/** The tree's entries, sorted by path, with content digests. */
export function treeEntries(tree: Tree): Promise<readonly TreeEntry[]> {
  return isWalked(tree) ? tree.list() : Promise.resolve(tree.entries);
}

/** The entry at `path` (relative, clean), without its content digest when the tree is walked: for what asks whether a path is there. */
export function treeLookup(tree: Tree, path: string): TreeEntry | undefined {
  return isWalked(tree) ? tree.lookup(path) : tree.entries.find((e) => e.path === path);
}

/** The tree's entries in path order, without content digests: for what needs only names, metadata and bytes (no file is read). */
export function treeWalk(tree: Tree): Iterable<TreeEntry> {
  return isWalked(tree) ? tree.walk() : tree.entries;
}

/**
 * Who is a hard link: the first name of an inode met in path order is the
 * file, each later one links to it (docker, BuildKit and umoci do the same;
 * taking the first in order keeps a layer the same whatever order the
 * inodes were made in). Names outside what is written never count: the
 * first one written is the file.
 */
export class HardLinks {
  private readonly first = new Map<string, string>();

  /** The path `e` (written at `path`) links to, or undefined when it is the inode's first name. */
  target(e: TreeEntry, path: string): string | undefined {
    if (e.linkId === undefined || e.type !== "file") return undefined;
    const first = this.first.get(e.linkId);
    if (first === undefined) this.first.set(e.linkId, path);
    return first;
  }
}

/**
 * The tree key, fed entry by entry in path order: the digest of the
 * canonical JSON of the whole listing, hashed row by row (one string for a
 * 20,000-file tree was ~6 MB held at once; a walked tree is never held).
 * A later name of a linked inode is a "hardlink" row naming the first, so
 * the key changes with the link structure as the layer does.
 */
export class TreeKey {
  private readonly hash = createHash("sha256").update("[");
  private rows = 0;
  private readonly links = new HardLinks();

  add(e: TreeEntry): void {
    const to = this.links.target(e, e.path);
    const row =
      to === undefined
        ? [e.path, e.type, e.mode, e.uid, e.gid, e.mtime ?? null, e.size ?? null, e.linkname ?? null, e.contentDigest ?? null, xattrsKey(e.xattrs), e.devmajor ?? null, e.devminor ?? null]
        : [e.path, "hardlink", e.mode, e.uid, e.gid, e.mtime ?? null, null, to, null, xattrsKey(e.xattrs), null, null];
    // A row of plain values (no xattrs object) is its own canonical form: no copy of it to sort keys in.
    this.hash.update((this.rows++ ? "," : "") + (row[9] === null ? JSON.stringify(row) : canonicalJson(row)));
  }

  digest(): Digest {
    return `sha256:${this.hash.update("]").digest("hex")}` as Digest;
  }
}

export function makeTree(entries: TreeEntry[]): ListedTree {
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const key = new TreeKey();
  for (const e of entries) key.add(e);
  return { key: key.digest(), entries };
}

/** Xattrs for the key: text as it is (keys made before byte values existed stay the same), bytes as base64. */
function xattrsKey(x: TreeEntry["xattrs"]): unknown {
  if (!x) return null;
  return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, typeof v === "string" ? v : { base64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64") }]));
}

export const EMPTY_TREE: ListedTree = makeTree([]);

/** Normalises a user path inside a tree or image: "/a/b/" → "a/b", "/" → "". Refuses to climb out. */
export function cleanRelPath(p: string): string {
  const n = posix.normalize("/" + p).replace(/^\/+/, "").replace(/\/+$/, "");
  if (n === "." ) return "";
  return n;
}

/** Entries below `prefix` (a directory path in the tree), re-rooted there. */
export function subTree(entries: readonly TreeEntry[], prefix: string): TreeEntry[] {
  const p = cleanRelPath(prefix);
  if (p === "") return entries.map((e) => ({ ...e }));
  const out: TreeEntry[] = [];
  for (const e of entries) {
    if (e.path.startsWith(p + "/")) out.push({ ...e, path: e.path.slice(p.length + 1) });
  }
  return out;
}

/** Merges `add` over `base` under `at`: entries of `add` replace same-path entries; a non-directory replaces a subtree. */
export function overlayTree(base: readonly TreeEntry[], add: readonly TreeEntry[], at: string): TreeEntry[] {
  const prefix = cleanRelPath(at);
  const moved = add.map((e) => ({ ...e, path: prefix ? (e.path ? `${prefix}/${e.path}` : prefix) : e.path })).filter((e) => e.path !== "");
  const byPath = new Map<string, TreeEntry>();
  for (const e of base) byPath.set(e.path, e);
  for (const e of moved) {
    const old = byPath.get(e.path);
    if (old && old.type === "directory" && e.type !== "directory") removeBelow(byPath, e.path);
    byPath.set(e.path, e);
  }
  // Parents of what was added must exist in the tree.
  for (const e of moved) ensureParents(byPath, e.path);
  return [...byPath.values()];
}

export function withoutPath(entries: readonly TreeEntry[], path: string): TreeEntry[] {
  const p = cleanRelPath(path);
  return entries.filter((e) => e.path !== p && !e.path.startsWith(p + "/"));
}

function removeBelow(map: Map<string, TreeEntry>, dir: string): void {
  for (const k of [...map.keys()]) if (k.startsWith(dir + "/")) map.delete(k);
}

function ensureParents(map: Map<string, TreeEntry>, path: string): void {
  let d = posix.dirname(path);
  while (d !== "." && d !== "" && !map.has(d)) {
    map.set(d, { path: d, type: "directory", mode: 0o755, uid: 0, gid: 0 });
    d = posix.dirname(d);
  }
}

export function openContent(c: ContentSource | undefined): Readable {
  if (!c) return Readable.from([]);
  if (c.kind === "bytes") return Readable.from([c.data]);
  return createReadStream(c.path);
}

/** What treeToLayerEntries may replace: owners (COPY --chown) and modes of files and directories (COPY --chmod). */
export interface LayerEntryOptions {
  uid?: number;
  gid?: number;
  permissions?: number;
}

/**
 * The layer entries that put `entries` (in path order) at `dest` in an
 * image; later names of a linked inode become hard links to the first.
 */
export function treeToLayerEntries(entries: readonly TreeEntry[], dest: string, opts: LayerEntryOptions = {}): LayerEntry[] {
  const prefix = cleanRelPath(dest);
  const links = new HardLinks();
  return entries.map((e) => toLayerEntry(e, prefix, opts, links));
}

/** treeToLayerEntries one at a time, for a tree walked rather than held. */
export function* streamLayerEntries(entries: Iterable<TreeEntry>, dest: string, opts: LayerEntryOptions = {}): Generator<LayerEntry> {
  const prefix = cleanRelPath(dest);
  const links = new HardLinks();
  for (const e of entries) yield toLayerEntry(e, prefix, opts, links);
}

function toLayerEntry(e: TreeEntry, prefix: string, opts: LayerEntryOptions, links: HardLinks): LayerEntry {
  const path = prefix ? (e.path ? `${prefix}/${e.path}` : prefix) : e.path;
  const mode = opts.permissions !== undefined && e.type !== "symlink" ? opts.permissions : e.mode;
  const to = links.target(e, path);
  if (to !== undefined) {
    // A later name of the inode: the data travels with the first name (xattrs too, as for RUN diffs).
    return { path, type: "hardlink", mode, uid: opts.uid ?? e.uid, gid: opts.gid ?? e.gid, mtime: e.mtime, size: undefined, linkname: to, devmajor: undefined, devminor: undefined, xattrs: undefined, open: undefined, hostPath: undefined };
  }
  const file = e.type === "file";
  // A host file is read by the tar writer from its path: no open() closure
  // per entry (20,000 closures and their contexts for a large context).
  const hostPath = file && e.content?.kind === "host" ? e.content.path : undefined;
  // One literal with every field: properties added later would live in a separate array per entry.
  const le: LayerEntry = {
    path,
    type: e.type,
    mode,
    uid: opts.uid ?? e.uid,
    gid: opts.gid ?? e.gid,
    mtime: e.mtime,
    size: file ? e.size ?? 0 : undefined,
    linkname: e.type === "hardlink" && e.linkname !== undefined && prefix ? `${prefix}/${e.linkname}` : e.linkname,
    devmajor: e.devmajor,
    devminor: e.devminor,
    xattrs: e.xattrs,
    open: file && hostPath === undefined ? () => openContent(e.content) : undefined,
    hostPath,
  };
  return le;
}
