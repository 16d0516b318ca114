/**
 * Where each blob of a store came from (registry + repository), so a push to
 * another repository of the same registry can try a cross-repository mount
 * instead of uploading (distribution-rules §3). One small file per
 * (digest, origin), written atomically: concurrent processes only ever add
 * files, so no lock is needed and nothing is lost.
 */
import { mkdir, readdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { hexOf, sha256, type Digest } from "../oci/digest.js";
import type { RegistryStore } from "./registry-store.js";
import { tempNameFor } from "../fsutil/atomic.js";

export interface BlobOrigin {
  registry: string;
  repository: string;
}

async function originDir(store: RegistryStore, digest: Digest): Promise<string> {
  return join(await store.stateDir("registry"), "origins", hexOf(digest));
}

/**
 * Records that `digest` is in `origin`. A record is a hint (a lost one only
 * means an upload instead of a mount), so it is renamed into place without
 * fsync: a pull or push whose blobs are all present stays free of disk syncs.
 */
export async function recordOrigin(store: RegistryStore, digest: Digest, origin: BlobOrigin): Promise<void> {
  const dir = await originDir(store, digest);
  const target = join(dir, hexOf(sha256(`${origin.registry}/${origin.repository}`)).slice(0, 32) + ".json");
  if (await stat(target).then(() => true, () => false)) return;
  await mkdir(dir, { recursive: true });
  const tmp = tempNameFor(target);
  await writeFile(tmp, JSON.stringify({ registry: origin.registry, repository: origin.repository }));
  await rename(tmp, target);
}

export async function listOrigins(store: RegistryStore, digest: Digest): Promise<BlobOrigin[]> {
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
