/**
 * Resolves the address given to `from()` to an image manifest in the store.
 * Local transports first (`oci:`, `oci-archive:`, `docker-archive:`), then
 * names already in the store (so a `-t` name is used with no lookup), then
 * registries.
 */
import { LadingError } from "../../errors.js";
import { importArchive, importLayoutDir } from "../../oci/image-import.js";
import { isIndexType } from "../../oci/mediatypes.js";
import { pickManifest } from "../../oci/platform-match.js";
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, LayerRef, Platform } from "../../oci/types.js";
import type { Session } from "../session.js";
import { storeName } from "../names.js";
import type { ResolvedImage } from "./pull.js";
import type { RegistryCredential } from "../registry-auth.js";

export async function resolveImage(session: Session, address: string, platform: Platform, auth: RegistryCredential[] = []): Promise<ResolvedImage> {
  const store = session.store;
  // skopeo's transport prefix for registries: always a registry, never a store name.
  if (address.startsWith("docker://")) {
    const { pullImage } = await import("./pull.js");
    return pullImage(session, address.slice("docker://".length), platform, auth);
  }
  const local = localAddress(address);
  if (local) {
    const { transport, path, tag } = local;
    const seen: { index?: Descriptor } = {};
    const manifest = transport === "oci" ? await importLayoutDir(store, path, tag, platform, { seen }) : await importArchive(store, path, tag, platform, seen);
    return { manifest, name: address, ...(seen.index ? { index: seen.index } : {}) };
  }
  for (const name of new Set([address, storeName(address)])) {
    const d = await store.resolveName(name);
    if (d) return { manifest: await manifestFor(session, d, platform, name), name, ...(isIndexType(d.mediaType) ? { index: d } : {}) };
  }
  const { pullImage } = await import("./pull.js");
  return pullImage(session, address, platform, auth);
}

/** `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`, `docker-archive:FILE[:TAG]` taken apart; undefined for other addresses. */
export function localAddress(address: string): { transport: "oci" | "oci-archive" | "docker-archive"; path: string; tag?: string } | undefined {
  const local = /^(oci|oci-archive|docker-archive):(.+)$/.exec(address);
  if (!local) return undefined;
  const [, transport, rest] = local as unknown as [string, "oci" | "oci-archive" | "docker-archive", string];
  const colon = rest.indexOf(":");
  const path = colon < 0 ? rest : rest.slice(0, colon);
  const tag = colon < 0 ? undefined : rest.slice(colon + 1) || undefined;
  return { transport, path, ...(tag ? { tag } : {}) };
}

/** Walks an index down to the platform's manifest (all in the store). */
export async function manifestFor(session: Session, d: Descriptor, platform: Platform, where: string): Promise<Descriptor> {
  let cur = d;
  for (let depth = 0; isIndexType(cur.mediaType) && depth < 4; depth++) {
    const idx = await session.store.readJson<ImageIndex>(cur.digest);
    cur = pickManifest(idx.manifests, platform, where);
  }
  return cur;
}

export interface LoadedImage {
  manifest: ImageManifest;
  config: ImageConfig;
  layers: LayerRef[];
}

/** Reads a stored manifest and its config; pairs layers with their diff_ids. */
export async function loadImage(session: Session, manifest: Descriptor): Promise<LoadedImage> {
  const m = await session.store.readJson<ImageManifest>(manifest.digest);
  if (!m.config || !Array.isArray(m.layers)) throw new LadingError("INVALID_IMAGE", `manifest ${manifest.digest} is not an image manifest`);
  const config = await session.store.readJson<ImageConfig>(m.config.digest);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== m.layers.length) {
    throw new LadingError("INVALID_IMAGE", `image ${manifest.digest}: its config lists ${diffIds.length} diff_ids for ${m.layers.length} layers`);
  }
  // A base image in use is recent for garbage collection, named or not.
  await session.store.touch({ blob: manifest.digest }, { blob: m.config.digest }, ...m.layers.map((l) => ({ blob: l.digest })));
  return { manifest: m, config, layers: m.layers.map((descriptor, i) => ({ descriptor, diffId: diffIds[i]! })) };
}
