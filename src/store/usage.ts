/**
 * An inventory of what the store holds, for `df`, garbage collection and
 * fsck: every blob, op-cache record, unpacked root filesystem or snapshot,
 * and cache volume, with its size, when it was last used and which blobs
 * it keeps alive.
 *
 * "Last used" is the file's (or folder's) mtime: written when created, and
 * bumped by `Store.touch` on every cache hit. atime is not used: relatime
 * makes it coarse, and this scan itself would update it.
 */
import { lstat, open, readFile, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { isDigest, type Digest } from "../oci/digest.js";
import { REF_NAME_ANNOTATION, type ImageIndex } from "../oci/types.js";
import type { Store } from "./store.js";

/**
 * image: a blob reachable from a named image (a root: never collected);
 * layer: any other blob (layers, configs, manifests of unnamed results);
 * snapshot: an unpacked root filesystem or exec snapshot;
 * opcache: a cached step result; volume: a cache volume;
 * gitmirror: a bare repository of commits fetched from one git remote
 * (refetched when gone; its id names its lock `git-mirror-<id>`);
 * module: what build modules derive from their sources (a dependency's
 * checkout at its pin, a transpiled entry and its signatures), remade
 * from the module or its pinned commit when gone.
 */
export type ItemKind = "image" | "layer" | "snapshot" | "opcache" | "volume" | "gitmirror" | "module";

export interface StoreItem {
  kind: ItemKind;
  /** A digest for blobs; the file or folder name otherwise. */
  id: string;
  /** What removing it deletes. */
  paths: string[];
  /** Bytes (apparent size; hard links counted once). */
  size: number;
  /** ms since the epoch. */
  lastUsed: number;
  /** Blobs this item keeps alive while it stays. */
  refs: Digest[];
  /** Reachable from a named image. */
  rooted: boolean;
  /** Times used (cache hits, reuse), from the use log. */
  uses?: number;
}

export interface Inventory {
  items: StoreItem[];
  blobs: Map<Digest, StoreItem>;
  /** Pins (reference → digest) per digest: removed with their blob so the next pull resolves again. */
  pins: Map<Digest, string[]>;
  /** Names in index.json and their root digests. */
  names: Array<{ name: string; digest: Digest }>;
  /**
   * Bytes of lading's other state, which no collection frees: the host-file
   * digest memo, the runtimes' state, podman's storage, registry origins,
   * pins, leases, temp files.
   */
  otherBytes: number;
}

/** The folders under lading/ that scanStore lists item by item; everything else there counts as other state. */
const ITEM_DIRS = new Set(["opcache", "rootfs", "snapshots", "volumes", "git", "modules"]);

/** Blobs larger than this are never parsed as manifests (manifests and indexes are small). */
const MAX_JSON_BLOB = 4 * 1024 * 1024;

export async function scanStore(store: Store): Promise<Inventory> {
  const items: StoreItem[] = [];
  const blobs = new Map<Digest, StoreItem>();
  const seenInodes = new Set<string>();

  const blobDir = join(store.root, "blobs", "sha256");
  for (const name of await readdir(blobDir).catch(() => [] as string[])) {
    const digest = `sha256:${name}` as Digest;
    if (!isDigest(digest)) continue;
    const path = join(blobDir, name);
    const st = await stat(path).catch(() => undefined);
    if (!st?.isFile()) continue;
    const item: StoreItem = { kind: "layer", id: digest, paths: [path], size: st.size, lastUsed: st.mtimeMs, refs: st.size <= MAX_JSON_BLOB ? await childrenOf(path) : [], rooted: false };
    blobs.set(digest, item);
    items.push(item);
  }

  const index = await readIndexLoose(store);
  const names: Inventory["names"] = [];
  const stack: Digest[] = [];
  for (const d of index.manifests ?? []) {
    if (!isDigest(d.digest)) continue;
    const name = d.annotations?.[REF_NAME_ANNOTATION];
    if (name) names.push({ name, digest: d.digest });
    stack.push(d.digest);
  }
  while (stack.length) {
    const b = blobs.get(stack.pop()!);
    if (!b || b.rooted) continue;
    b.rooted = true;
    b.kind = "image";
    stack.push(...b.refs);
  }

  const opDir = join(store.root, "lading", "opcache");
  for (const name of await readdir(opDir).catch(() => [] as string[])) {
    if (!name.endsWith(".json") || name.startsWith(".")) continue;
    const path = join(opDir, name);
    const st = await stat(path).catch(() => undefined);
    if (!st) continue;
    let refs: Digest[] = [];
    try {
      refs = digestsIn(JSON.parse(await readFile(path, "utf8")));
    } catch {
      // A record that does not parse keeps nothing alive (fsck reports it).
    }
    items.push({ kind: "opcache", id: name.slice(0, -5), paths: [path], size: st.size, lastUsed: st.mtimeMs, refs, rooted: false });
  }

  // The engine's root filesystems: rootfs/<chainid>; exec's snapshots: snapshots/<id mapping>/<chainid>.
  items.push(...(await scanUnpacked(join(store.root, "lading", "rootfs"), seenInodes)));
  for (const tag of await snapshotTags(store)) items.push(...(await scanUnpacked(join(store.root, "lading", "snapshots", tag), seenInodes, `${tag}/`)));

  const volDir = join(store.root, "lading", "volumes");
  for (const name of await readdir(volDir).catch(() => [] as string[])) {
    const path = join(volDir, name);
    const st = await lstat(path).catch(() => undefined);
    if (!st) continue;
    items.push({ kind: "volume", id: name, paths: [path], size: await treeSize(path, seenInodes), lastUsed: st.mtimeMs, refs: [], rooted: false });
  }

  // Git mirrors: git/<hash>.git, its folder's mtime bumped on every use (src/git/mirror.ts openMirror).
  const gitDir = join(store.root, "lading", "git");
  for (const name of await readdir(gitDir).catch(() => [] as string[])) {
    if (!name.endsWith(".git") || name.startsWith(".")) continue;
    const path = join(gitDir, name);
    const st = await lstat(path).catch(() => undefined);
    if (!st?.isDirectory()) continue;
    items.push({ kind: "gitmirror", id: name.slice(0, -4), paths: [path], size: await treeSize(path, seenInodes), lastUsed: st.mtimeMs, refs: [], rooted: false });
  }

  // Build modules (src/frontends/modules): deps/<pin>, entries/<key>.json, code/<hash>.mjs; each bumped on use.
  for (const sub of ["deps", "entries", "code"]) {
    const dir = join(store.root, "lading", "modules", sub);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (name.startsWith(".") || name.includes(".tmp-")) continue;
      const path = join(dir, name);
      const st = await lstat(path).catch(() => undefined);
      if (!st) continue;
      items.push({ kind: "module", id: `${sub}/${name}`, paths: [path], size: st.isDirectory() ? await treeSize(path, seenInodes) : st.size, lastUsed: st.mtimeMs, refs: [], rooted: false });
    }
  }

  const pins = new Map<Digest, string[]>();
  const pinDir = join(store.root, "lading", "pins");
  for (const name of await readdir(pinDir).catch(() => [] as string[])) {
    if (!name.endsWith(".json") || name.startsWith(".")) continue;
    try {
      const pin = JSON.parse(await readFile(join(pinDir, name), "utf8")) as { digest?: unknown };
      if (isDigest(pin.digest)) pins.set(pin.digest, [...(pins.get(pin.digest) ?? []), join(pinDir, name)]);
    } catch {
      // unreadable pin: fsck's business
    }
  }
  let otherBytes = 0;
  for (const name of await readdir(join(store.root, "lading")).catch(() => [] as string[])) {
    if (!ITEM_DIRS.has(name)) otherBytes += await treeSize(join(store.root, "lading", name), seenInodes);
  }
  return { items, blobs, pins, names, otherBytes };
}

/**
 * Unpacked trees: each top-level entry, grouped by the part of its name
 * before the first dot, so `<chainid>` and its markers (`<chainid>.complete`,
 * `<chainid>.json`) go together.
 */
async function scanUnpacked(dir: string, seenInodes: Set<string>, idPrefix = ""): Promise<StoreItem[]> {
  const groups = new Map<string, StoreItem>();
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name.startsWith(".")) continue;
    const path = join(dir, name);
    const st = await lstat(path).catch(() => undefined);
    if (!st) continue;
    const id = idPrefix + name.split(".")[0]!;
    const g = groups.get(id) ?? { kind: "snapshot" as const, id, paths: [], size: 0, lastUsed: 0, refs: [], rooted: false };
    // The folder first, so removal makes the tree vanish before its markers.
    if (st.isDirectory()) g.paths.unshift(path);
    else g.paths.push(path);
    g.size += st.isDirectory() ? await treeSize(path, seenInodes) : st.size;
    g.lastUsed = Math.max(g.lastUsed, st.mtimeMs);
    groups.set(id, g);
  }
  return [...groups.values()];
}

/** The id-mapping folders under lading/snapshots (exec keeps one set of snapshots per owner mapping). */
export async function snapshotTags(store: Store): Promise<string[]> {
  const dir = join(store.root, "lading", "snapshots");
  const out: string[] = [];
  for (const n of await readdir(dir).catch(() => [] as string[])) {
    if (n.startsWith(".")) continue;
    if ((await lstat(join(dir, n)).catch(() => undefined))?.isDirectory()) out.push(n);
  }
  return out;
}

/** Apparent size of a tree, each inode counted once across the whole scan. */
export async function treeSize(root: string, seenInodes: Set<string> = new Set()): Promise<number> {
  let total = 0;
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    const st = await lstat(p).catch(() => undefined);
    if (!st) continue;
    const key = `${st.dev}:${st.ino}`;
    if (seenInodes.has(key)) continue;
    seenInodes.add(key);
    if (st.isDirectory()) {
      for (const n of await readdir(p).catch(() => [] as string[])) stack.push(join(p, n));
    } else {
      total += st.size;
    }
  }
  return total;
}

/** The blobs a manifest or index blob points at (empty for anything else). */
async function childrenOf(path: string): Promise<Digest[]> {
  const fh = await open(path, "r").catch(() => undefined);
  if (!fh) return [];
  try {
    const first = Buffer.alloc(1);
    await fh.read(first, 0, 1, 0);
    if (first[0] !== 0x7b /* { */) return [];
    const json = JSON.parse(await readFile(path, "utf8")) as { config?: { digest?: unknown }; layers?: Array<{ digest?: unknown }>; manifests?: Array<{ digest?: unknown }>; subject?: { digest?: unknown } };
    const out: unknown[] = [];
    if (Array.isArray(json.manifests)) out.push(...json.manifests.map((m) => m?.digest));
    if (json.config && Array.isArray(json.layers)) out.push(json.config.digest, ...json.layers.map((l) => l?.digest));
    return out.filter(isDigest);
  } catch {
    return [];
  } finally {
    await fh.close();
  }
}

/** Every digest under a "digest" key anywhere in a JSON value (op-cache records of every step kind). */
export function digestsIn(value: unknown): Digest[] {
  const out = new Set<Digest>();
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (k === "digest" && isDigest(x)) out.add(x);
        else walk(x);
      }
    }
  };
  walk(value);
  return [...out];
}

async function readIndexLoose(store: Store): Promise<ImageIndex> {
  try {
    return await store.readIndex();
  } catch {
    return { schemaVersion: 2, manifests: [] };
  }
}

export interface UsageByKind {
  images: number;
  layers: number;
  snapshots: number;
  opCache: number;
  cacheVolumes: number;
  /** Git mirrors (lading/git). */
  gitMirrors: number;
  /** Build modules' dependency checkouts and transpiled entries. */
  modules: number;
  /** lading's other state (Inventory.otherBytes). */
  other: number;
  total: number;
}

export function usageByKind(inv: Inventory): UsageByKind {
  const u: UsageByKind = { images: 0, layers: 0, snapshots: 0, opCache: 0, cacheVolumes: 0, gitMirrors: 0, modules: 0, other: inv.otherBytes, total: inv.otherBytes };
  for (const i of inv.items) {
    const k = ({ image: "images", layer: "layers", snapshot: "snapshots", opcache: "opCache", volume: "cacheVolumes", gitmirror: "gitMirrors", module: "modules" } as const)[i.kind];
    u[k] += i.size;
    u.total += i.size;
  }
  return u;
}
