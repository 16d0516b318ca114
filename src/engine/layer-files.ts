/**
 * Reads single small files (like /etc/passwd) out of an image's layers
 * without unpacking it, and tells which of some paths the image has:
 * layers are scanned from the top; a whiteout of the path (or of a parent)
 * or an opaque marker on a parent ends the search.
 */
import { posix } from "node:path";
import { createDecompressor } from "../oci/compress.js";
import { tarExtract } from "../oci/tar-reader.js";
import type { Readable } from "node:stream";
import type { Store } from "../store/store.js";
import { layerCompression } from "../oci/mediatypes.js";
import type { LayerRef } from "../oci/types.js";
import { LadingError } from "../errors.js";

const MAX_SMALL_FILE = 4 << 20;

export async function readFileFromLayers(store: Store, layers: readonly LayerRef[], path: string): Promise<Buffer | null> {
  const want = path.replace(/^\/+/, "");
  const dir = posix.dirname(want);
  const wh = posix.join(dir, ".wh." + posix.basename(want));
  for (let i = layers.length - 1; i >= 0; i--) {
    const found = await scanLayer(store, layers[i]!, want, wh, dir);
    if (found === "deleted") return null;
    if (found) return found;
  }
  return null;
}

async function scanLayer(store: Store, layer: LayerRef, want: string, wh: string, dir: string): Promise<Buffer | "deleted" | undefined> {
  let result: Buffer | "deleted" | undefined;
  let opaqueAbove = false;
  await eachEntry(store, layer, async (name, entry) => {
    if (name === want && entry.header.type === "file") {
      if ((entry.header.size ?? 0) > MAX_SMALL_FILE) throw new LadingError("UNSUPPORTED", `${want} is too large to read this way`);
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      result = Buffer.concat(chunks);
      return true;
    }
    if (name === wh) result ??= "deleted";
    else if (name.endsWith("/.wh..wh..opq") && (dir + "/").startsWith(name.slice(0, -".wh..wh..opq".length))) opaqueAbove = true;
    return false;
  });
  if (result === undefined && opaqueAbove) return "deleted";
  return result;
}

/**
 * Which of `paths` (relative, no trailing slash) the image made of `layers`
 * does not have. Reads every layer's headers (not its file bodies) until
 * each path is settled, top layer first.
 */
export async function missingPaths(store: Store, layers: readonly LayerRef[], paths: readonly string[]): Promise<string[]> {
  const open = new Set(paths);
  const missing = new Set<string>();
  for (let i = layers.length - 1; i >= 0 && open.size > 0; i--) {
    const found = new Set<string>();
    const gone = new Set<string>(); // whited-out paths, and dirs made opaque (their lower contents gone)
    await eachEntry(store, layers[i]!, (name) => {
      const base = posix.basename(name);
      if (base === ".wh..wh..opq") gone.add(posix.dirname(name) + "/");
      else if (base.startsWith(".wh.")) gone.add(posix.join(posix.dirname(name), base.slice(4)));
      else found.add(name);
      return false;
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

/**
 * Calls `fn` with each entry of a layer (name normalised: no "./", no
 * leading or trailing slash); `fn` returns true when it read the entry's body.
 */
async function eachEntry(store: Store, layer: LayerRef, fn: (name: string, entry: AsyncIterable<unknown> & { header: { type?: string | null; size?: number } }) => Promise<boolean> | boolean): Promise<void> {
  const raw = store.openBlob(layer.descriptor.digest);
  const comp = layerCompression(layer.descriptor.mediaType);
  const input: Readable = comp === "none" ? raw : raw.pipe(createDecompressor(comp));
  const extract = tarExtract();
  input.on("error", (e) => extract.destroy(e));
  input.pipe(extract);
  try {
    for await (const entry of extract) {
      const name = entry.header.name.replace(/^\.\//, "").replace(/^\/+/, "").replace(/\/+$/, "");
      if (!(name && (await fn(name, entry)))) entry.resume();
    }
  } finally {
    raw.destroy();
  }
}
