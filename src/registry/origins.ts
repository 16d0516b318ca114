/**
 * Where each blob of a store came from (registry + repository), so a push to
 * another repository of the same registry can try a cross-repository mount
 * instead of uploading (distribution-rules §3). One small file per
 * (digest, origin), written atomically: concurrent processes only ever add
 * files, so no lock is needed and nothing is lost.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { hexOf, sha256, type Digest } from "../oci/digest.js";
import type { Store } from "../store/store.js";
import { writeFileAtomic } from "../store/atomic.js";

export interface BlobOrigin {
  registry: string;
  repository: string;
}

async function originDir(store: Store, digest: Digest): Promise<string> {
  return join(await store.stateDir("registry"), "origins", hexOf(digest));
}

export async function recordOrigin(store: Store, digest: Digest, origin: BlobOrigin): Promise<void> {
  const dir = await originDir(store, digest);
  const name = hexOf(sha256(`${origin.registry}/${origin.repository}`)).slice(0, 32) + ".json";
  await writeFileAtomic(join(dir, name), JSON.stringify({ registry: origin.registry, repository: origin.repository }));
}

export async function listOrigins(store: Store, digest: Digest): Promise<BlobOrigin[]> {
  const dir = await originDir(store, digest);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: BlobOrigin[] = [];
  for (const n of names.filter((n) => n.endsWith(".json"))) {
    try {
      const o = JSON.parse(await readFile(join(dir, n), "utf8")) as BlobOrigin;
      if (typeof o.registry === "string" && typeof o.repository === "string") out.push(o);
    } catch {
      // a record being replaced right now; the others still serve
    }
  }
  return out;
}
