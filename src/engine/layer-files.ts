/**
 * Reads single small files (like /etc/passwd) out of an image's layers
 * without unpacking it, lists its symbolic links, and tells which of some
 * paths the image has:
 * layers are scanned from the top; a whiteout of the path (or of a parent)
 * or an opaque marker on a parent ends the search.
 */
import { posix } from "node:path";
import type { Readable } from "node:stream";
import { LadingError } from "../errors.js";
import type { BlobReader } from "../oci/blob-store.js";
import { createDecompressor } from "../oci/compress.js";
import { OPAQUE_WHITEOUT, WHITEOUT_PREFIX } from "../oci/layer-entry.js";
import { layerCompression } from "../oci/mediatypes.js";
import { readTarEntries, type TarEntry } from "../oci/tar-reader.js";
import type { LayerRef } from "../oci/types.js";

const MAX_SMALL_FILE = 4 << 20;

export async function readFileFromLayers(store: BlobReader, layers: readonly LayerRef[], path: string): Promise<Buffer | null> {
  const want = path.replace(/^\/+/, "");
  const dir = posix.dirname(want);
  const wh = posix.join(dir, WHITEOUT_PREFIX + posix.basename(want));
  for (let i = layers.length - 1; i >= 0; i--) {
    const found = await scanLayer(store, layers[i]!, want, wh, dir);
    if (found === "deleted") return null;
    if (found) return found;
  }
  return null;
}

async function scanLayer(store: BlobReader, layer: LayerRef, want: string, wh: string, dir: string): Promise<Buffer | "deleted" | undefined> {
  let result: Buffer | "deleted" | undefined;
  let opaqueAbove = false;
  await eachEntry(store, layer, async (name, entry) => {
    if (name === want && entry.header.type === "file") {
      if ((entry.header.size ?? 0) > MAX_SMALL_FILE) throw new LadingError("UNSUPPORTED", `${want} is too large to read this way`);
      const chunks: Buffer[] = [];
      for await (const c of entry.stream) chunks.push(c as Buffer);
      result = Buffer.concat(chunks);
      return;
    }
    if (name === wh) result ??= "deleted";
    else if (posix.basename(name) === OPAQUE_WHITEOUT && (dir + "/").startsWith(dirPrefix(name))) opaqueAbove = true;
  });
  if (result === undefined && opaqueAbove) return "deleted";
  return result;
}

/**
 * Which of `paths` (relative, no trailing slash) the image made of `layers`
 * does not have. Reads every layer's headers (not its file bodies) until
 * each path is settled, top layer first.
 */
export async function missingPaths(store: BlobReader, layers: readonly LayerRef[], paths: readonly string[]): Promise<string[]> {
  const open = new Set(paths);
  const missing = new Set<string>();
  for (let i = layers.length - 1; i >= 0 && open.size > 0; i--) {
    const found = new Set<string>();
    const gone = new Set<string>(); // whited-out paths, and dirs made opaque (their lower contents gone)
    await eachEntry(store, layers[i]!, (name) => {
      const base = posix.basename(name);
      if (base === OPAQUE_WHITEOUT) gone.add(dirPrefix(name));
      else if (base.startsWith(WHITEOUT_PREFIX)) gone.add(posix.join(posix.dirname(name), base.slice(WHITEOUT_PREFIX.length)));
      else found.add(name);
    });
    for (const p of [...open]) {
      if (found.has(p)) open.delete(p);
      else if ([...gone].some((g) => (g.endsWith("/") ? p.startsWith(g) : p === g || p.startsWith(g + "/")))) {
        open.delete(p);
        missing.add(p);
      }
    }
  }
  for (const p of open) missing.add(p);
  return paths.filter((p) => missing.has(p));
}

/** The links of an image so far, and the folders that hold (or held) a link somewhere below: only replacing one of those can hide links. */
interface LinkState {
  links: Map<string, string>;
  holders: Set<string>;
}

/**
 * imageLinks' results per store, by the image's top layer: each file step
 * asks for the links of the image below it, which is the last one asked for
 * plus one layer, so a chain of n steps reads each layer once instead of
 * reading n²/2 layers (a 500-step chain took a minute). Layers are content
 * addressed, so a remembered result never goes stale; a few are kept.
 */
const linkMemo = new WeakMap<BlobReader, Map<string, { layers: readonly string[]; state: LinkState }>>();
const LINK_MEMO_SIZE = 8;

/**
 * The symbolic links of the image made of `layers` (path → target), as the
 * unpacked image would have them: read bottom layer first, each layer's
 * whiteouts and opaque markers removing what lower layers had, its entries
 * replacing same-named ones. Reads the headers of every layer that the
 * links of a lower part of the same chain, remembered, do not cover.
 */
export async function imageLinks(store: BlobReader, layers: readonly LayerRef[]): Promise<ReadonlyMap<string, string>> {
  const ids = layers.map((l) => `${l.descriptor.digest} ${l.descriptor.mediaType}`);
  let memo = linkMemo.get(store);
  if (!memo) linkMemo.set(store, (memo = new Map()));
  let from = 0;
  let state: LinkState = { links: new Map(), holders: new Set([""]) };
  for (let k = ids.length; k > 0; k--) {
    const hit = memo.get(ids[k - 1]!);
    if (!hit || hit.layers.length !== k || !hit.layers.every((id, i) => id === ids[i])) continue;
    if (k === ids.length) return hit.state.links;
    from = k;
    state = { links: new Map(hit.state.links), holders: new Set(hit.state.holders) };
    break;
  }
  for (const layer of layers.slice(from)) await applyLayerLinks(store, layer, state);
  if (ids.length > 0) {
    memo.delete(ids.at(-1)!);
    memo.set(ids.at(-1)!, { layers: ids, state });
    if (memo.size > LINK_MEMO_SIZE) memo.delete(memo.keys().next().value!);
  }
  return state.links;
}

/** Puts one layer on top of `state`: its whiteouts and opaque markers remove what lower layers had, its entries replace same-named ones. */
async function applyLayerLinks(store: BlobReader, layer: LayerRef, { links, holders }: LinkState): Promise<void> {
  const dropBelow = (prefix: string) => {
    for (const k of [...links.keys()]) if (k.startsWith(prefix)) links.delete(k);
  };
  const gone: string[] = [];
  const entries: Array<[string, string | undefined, boolean]> = [];
  await eachEntry(store, layer, (name, entry) => {
    const base = posix.basename(name);
    if (base === OPAQUE_WHITEOUT) gone.push(dirPrefix(name));
    else if (base.startsWith(WHITEOUT_PREFIX)) gone.push(posix.join(posix.dirname(name), base.slice(WHITEOUT_PREFIX.length)));
    else entries.push([name, entry.header.type === "symlink" ? (entry.header.linkname ?? "") : undefined, entry.header.type === "directory"]);
  });
  // A layer's whiteouts apply to the layers below it, never to its own entries.
  for (const g of gone) {
    if (g.endsWith("/") || g === "") dropBelow(g);
    else {
      links.delete(g);
      if (holders.has(g)) dropBelow(g + "/");
    }
  }
  for (const [name, target, isDir] of entries) {
    if (target !== undefined) {
      links.set(name, target);
      for (let d = posix.dirname(name); d !== "."; d = posix.dirname(d)) holders.add(d);
    } else {
      links.delete(name);
      if (!isDir && holders.has(name)) dropBelow(name + "/");
    }
  }
}

/** The folder an entry is in, as a prefix of the paths below it ("" for the root: a root-level opaque marker hides everything). */
function dirPrefix(name: string): string {
  const d = posix.dirname(name);
  return d === "." ? "" : d + "/";
}

/**
 * Calls `fn` with each entry of a layer, read through the safe tar reader
 * (names normalised, ".." refused); what `fn` leaves unread is skipped.
 */
async function eachEntry(store: BlobReader, layer: LayerRef, fn: (name: string, entry: TarEntry) => Promise<void> | void): Promise<void> {
  const raw = store.openBlob(layer.descriptor.digest);
  const comp = layerCompression(layer.descriptor.mediaType);
  const input: Readable = comp === "none" ? raw : raw.pipe(createDecompressor(comp));
  try {
    for await (const entry of readTarEntries(input)) {
      if (entry.header.name) await fn(entry.header.name, entry);
    }
  } finally {
    raw.destroy();
  }
}
