/**
 * Reads single small files (like /etc/passwd) out of an image's layers
 * without unpacking it: layers are scanned from the top; a whiteout of the
 * file or an opaque marker on a parent ends the search.
 */
import { posix } from "node:path";
import { createDecompressor } from "../oci/compress.js";
import type { Readable } from "node:stream";
import tar from "tar-stream";
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
  const raw = store.openBlob(layer.descriptor.digest);
  const comp = layerCompression(layer.descriptor.mediaType);
  const input: Readable = comp === "none" ? raw : raw.pipe(createDecompressor(comp));
  const extract = tar.extract();
  input.on("error", (e) => extract.destroy(e));
  input.pipe(extract);
  let result: Buffer | "deleted" | undefined;
  let opaqueAbove = false;
  try {
    for await (const entry of extract) {
      const name = entry.header.name.replace(/^\.\//, "").replace(/^\/+/, "").replace(/\/+$/, "");
      if (name === want && entry.header.type === "file") {
        if ((entry.header.size ?? 0) > MAX_SMALL_FILE) throw new LadingError("UNSUPPORTED", `${want} is too large to read this way`);
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        result = Buffer.concat(chunks);
        continue;
      }
      if (name === wh) result ??= "deleted";
      else if (name.endsWith("/.wh..wh..opq") && (dir + "/").startsWith(name.slice(0, -".wh..wh..opq".length))) opaqueAbove = true;
      entry.resume();
    }
  } finally {
    raw.destroy();
  }
  if (result === undefined && opaqueAbove) return "deleted";
  return result;
}
