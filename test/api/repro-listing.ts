/**
 * What the reproducibility tests compare when digests differ: an image's
 * config dates and, per layer, every tar entry as one line (name, type,
 * mode, owner, mtime, PAX keys, content digest). Read with tar-stream, not
 * lading's own reader, so the writer is not judged by itself.
 */
import { createHash } from "node:crypto";
import { PassThrough } from "node:stream";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";
import { Store } from "../../src/store/store.js";
import type { Digest } from "../../src/oci/digest.js";
import type { ImageConfig, ImageManifest } from "../../src/oci/types.js";

/** One line per layer entry (of layers `from` on), each prefixed with its layer's index; the config's dates first. */
export async function layerListing(storeRoot: string, manifestDigest: string, from = 0): Promise<string[]> {
  const store = await Store.open(storeRoot);
  const manifest = await store.readJson<ImageManifest>(manifestDigest as Digest);
  const config = await store.readJson<ImageConfig & { history?: Array<{ created?: string }> }>(manifest.config.digest);
  const out = [`config created=${config.created} history=${(config.history ?? []).map((h) => h.created).join(",")}`];
  for (const [i, d] of manifest.layers.entries()) {
    if (i < from) continue;
    out.push(`layer ${i} ${d.digest}`);
    const ex = tar.extract();
    const done = (async () => {
      for await (const entry of ex) {
        const hash = createHash("sha256");
        for await (const c of entry) hash.update(c as Buffer);
        const h = entry.header;
        const pax = Object.keys(h.pax ?? {}).sort().join(",");
        const owner = `${h.uid}:${h.gid}`;
        out.push(`layer ${i} ${h.name} ${h.type} ${((h.mode ?? 0) & 0o7777).toString(8)} ${owner} mtime=${h.mtime ? h.mtime.getTime() / 1000 : "-"} pax=${pax} ${hash.digest("hex").slice(0, 12)}`);
      }
    })();
    store.openBlob(d.digest).pipe(d.mediaType.endsWith("gzip") ? createGunzip() : new PassThrough()).pipe(ex);
    await done;
  }
  return out;
}

export interface Build {
  digest: string;
  listing: string[];
}

/** Equal digests, else fails with the listing lines only one of the builds has. */
export function assertSameBuild(a: Build, b: Build, what: string): void {
  if (a.digest === b.digest) return;
  const only = (x: string[], y: string[]) => x.filter((l) => !y.includes(l));
  throw new Error(`${what}: ${a.digest} ≠ ${b.digest}\nonly in the first:\n  ${only(a.listing, b.listing).join("\n  ")}\nonly in the second:\n  ${only(b.listing, a.listing).join("\n  ")}`);
}
