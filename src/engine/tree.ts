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
}

export interface Tree {
  readonly key: Digest;
  readonly entries: readonly TreeEntry[];
}

export function makeTree(entries: TreeEntry[]): Tree {
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  // The digest of the canonical JSON of the whole listing, hashed row by row:
  // one string for a 20,000-file tree was ~6 MB held at once.
  const hash = createHash("sha256").update("[");
  entries.forEach((e, i) => {
    const row = [e.path, e.type, e.mode, e.uid, e.gid, e.mtime ?? null, e.size ?? null, e.linkname ?? null, e.contentDigest ?? null, xattrsKey(e.xattrs), e.devmajor ?? null, e.devminor ?? null];
    hash.update((i ? "," : "") + canonicalJson(row));
  });
  return { key: `sha256:${hash.update("]").digest("hex")}` as Digest, entries };
}

/** Xattrs for the key: text as it is (keys made before byte values existed stay the same), bytes as base64. */
function xattrsKey(x: TreeEntry["xattrs"]): unknown {
  if (!x) return null;
  return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, typeof v === "string" ? v : { base64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64") }]));
}

export const EMPTY_TREE: Tree = makeTree([]);

/** Normalises a user path inside a tree or image: "/a/b/" → "a/b", "/" → "". Refuses to climb out. */
export function cleanRelPath(p: string): string {
  const n = posix.normalize("/" + p).replace(/^\/+/, "").replace(/\/+$/, "");
  if (n === "." ) return "";
  return n;
}

/** Entries below `prefix` (a directory path in the tree), re-rooted there. */
export function subTree(tree: Tree, prefix: string): TreeEntry[] {
  const p = cleanRelPath(prefix);
  if (p === "") return tree.entries.map((e) => ({ ...e }));
  const out: TreeEntry[] = [];
  for (const e of tree.entries) {
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

/**
 * The layer entries that put `entries` at `dest` in an image. `owner`
 * replaces owners (COPY --chown); `permissions` replaces modes of files
 * and directories (COPY --chmod).
 */
export function treeToLayerEntries(
  entries: readonly TreeEntry[],
  dest: string,
  opts: { uid?: number; gid?: number; permissions?: number } = {},
): LayerEntry[] {
  const prefix = cleanRelPath(dest);
  return entries.map((e) => {
    const path = prefix ? (e.path ? `${prefix}/${e.path}` : prefix) : e.path;
    const mode = opts.permissions !== undefined && e.type !== "symlink" ? opts.permissions : e.mode;
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
  });
}
