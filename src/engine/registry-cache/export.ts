/**
 * Writing a registry build cache (`exportCache`, `--cache-to`): the op
 * cache records of a build's steps, with their layers, as one OCI artifact
 * (format.ts) pushed with the registry client like an image. `min` writes
 * the steps of the image asked for (its own chain, earlier stages it is
 * built FROM included); `max` every step the session took or ran, so other
 * stages are cached too.
 *
 * Nothing secret is written: records hold what the local op cache holds
 * (cache keys name secrets, never their values; output is scrubbed).
 */
import { LadingError } from "../../errors.js";
import type { Digest } from "../../oci/digest.js";
import { canonicalJson } from "../../oci/json.js";
import { MediaType } from "../../oci/mediatypes.js";
import type { Descriptor } from "../../oci/types.js";
import type { ContainerNode } from "../ops.js";
import type { CacheLogEntry } from "../session.js";
import type { StepContext } from "../step-context.js";
import { formatPlatform } from "../image-state.js";
import { registryCredentials } from "../registry-auth.js";
import { runStep } from "../steps/run-step.js";
import { transferEvents } from "../transfer-events.js";
import { lazyAmong } from "./lazy.js";
import { fetchLazyBlobs } from "./remote.js";
import {
  CACHE_ARTIFACT_TYPE,
  CACHE_CONFIG_TYPE,
  CACHE_FORMAT_VERSION,
  CACHE_OUTPUT_TYPE,
  INLINE_OUTPUT_MAX,
  MODE_ANNOTATION,
  PLATFORM_ANNOTATION,
  VERSION_ANNOTATION,
  type CacheConfig,
  type WireOutput,
  type WireRecord,
} from "./format.js";

export type CacheMode = "min" | "max";

/**
 * Evaluates `node` (and its platform variants), then pushes the build cache
 * of their steps (`mode`) to `address`: one artifact manifest per platform,
 * under an index of the same artifact type when there are several.
 * Returns `address@sha256:…`.
 */
export async function exportCache(ev: StepContext, node: ContainerNode, address: string, mode: CacheMode, variants: readonly ContainerNode[] = []): Promise<string> {
  if (mode !== "min" && mode !== "max") throw new LadingError("INVALID_ARGUMENT", `cache mode must be "min" or "max", got ${JSON.stringify(mode)}`);
  const { parseReference, formatReference } = await import("../../registry/reference.js");
  const ref = parseReference(address);
  const session = ev.session;
  const nodes = [node, ...variants];
  const states = await Promise.all(nodes.map((n) => ev.container(n)));
  const artifacts: Array<{ manifest: Descriptor; layers: Descriptor[]; records: number }> = [];
  const seen = new Set<string>();
  for (const [i, n] of nodes.entries()) {
    const platform = states[i]!.platform;
    const name = formatPlatform(platform);
    if (seen.has(name)) throw new LadingError("INVALID_ARGUMENT", `two platform variants are both for ${name}`);
    seen.add(name);
    const entries = mode === "max" ? [...session.cacheLog.values()].filter((e) => formatPlatform(e.platform) === name) : await chainEntries(ev, n);
    artifacts.push(await writeArtifact(ev, entries, name, mode, platform));
  }
  const root = artifacts.length === 1 ? artifacts[0]!.manifest : await writeIndex(ev, artifacts.map((a) => a.manifest), mode);
  const records = artifacts.reduce((a, b) => a + b.records, 0);
  // Blobs a cached step left in another repository are fetched first; those already in the target repository stay there.
  const target = `${ref.registry}/${ref.repository}`;
  const away = lazyAmong(session, artifacts.flatMap((a) => a.layers.map((l) => l.digest))).filter((b) => `${b.source.reference.registry}/${b.source.reference.repository}` !== target);
  if (away.length) await fetchLazyBlobs(session, away);
  const { RegistryClient } = await import("../../registry/client.js");
  const id = `cache-export:${address}`;
  const client = new RegistryClient({ ...session.config.registry, auth: [...registryCredentials(session, states[0]!), ...(session.config.registry.auth ?? [])], env: session.config.env, onProgress: transferEvents(session, id, "push") });
  try {
    const attributes = { "lading.cache.ref": address, "lading.cache.mode": mode, "lading.cache.records": records, "lading.output.digest": root.digest };
    const digest = await runStep(session, { id, name: `export cache ${formatReference(ref)} (mode=${mode}, ${records} steps)`, attributes }, () => client.push(session.store, root, ref, { signal: session.config.signal }), false);
    return `${formatReference({ ...ref, digest: undefined })}@${digest}`;
  } finally {
    await client.close();
  }
}

/** The index over per-platform cache manifests: each entry names its platform, so a reader fetches only its own. */
async function writeIndex(ev: StepContext, manifests: readonly Descriptor[], mode: CacheMode): Promise<Descriptor> {
  const index = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    artifactType: CACHE_ARTIFACT_TYPE,
    manifests: manifests.map((m) => ({ ...m, artifactType: CACHE_ARTIFACT_TYPE })),
    annotations: { [VERSION_ANNOTATION]: String(CACHE_FORMAT_VERSION), [MODE_ANNOTATION]: mode },
  };
  const info = await ev.session.store.putJson(index);
  return { mediaType: MediaType.ociIndex, digest: info.digest, size: info.size };
}

/** The records of the steps `node` is made of, parent first (metadata steps have none). */
async function chainEntries(ev: StepContext, node: ContainerNode): Promise<CacheLogEntry[]> {
  const out: CacheLogEntry[] = [];
  for (let n: ContainerNode | undefined = node; n; n = n.parent) {
    const e = ev.session.cacheLog.get((await ev.container(n)).key);
    if (e) out.push(e);
  }
  return out.reverse();
}

/** Stores the record list and the artifact manifest (not yet pushed); outputs too long to inline become blobs. */
async function writeArtifact(ev: StepContext, entries: readonly CacheLogEntry[], platformName: string, mode: CacheMode, platform: CacheConfig["platform"]): Promise<{ manifest: Descriptor; layers: Descriptor[]; records: number }> {
  const store = ev.session.store;
  const layers: Descriptor[] = [];
  const index = new Map<Digest, number>();
  const blobIndex = (d: Descriptor): number => {
    let i = index.get(d.digest);
    if (i === undefined) {
      i = layers.length;
      layers.push({ mediaType: d.mediaType, digest: d.digest, size: d.size });
      index.set(d.digest, i);
    }
    return i;
  };
  const output = async (text: string): Promise<WireOutput> => {
    if (Buffer.byteLength(text) <= INLINE_OUTPUT_MAX) return { text };
    const info = await store.putBlob(Buffer.from(text));
    return { blob: blobIndex({ mediaType: CACHE_OUTPUT_TYPE, ...info }) };
  };
  const seen = new Set<Digest>();
  const records: WireRecord[] = [];
  for (const e of entries) {
    if (seen.has(e.cacheKey)) continue;
    seen.add(e.cacheKey);
    const r = e.record;
    const layer = r.layer ? { index: blobIndex(r.layer.descriptor), diffId: r.layer.diffId } : undefined;
    const exec = e.kind === "exec" ? { exitCode: r.exitCode ?? 0, stdout: await output(r.stdout ?? ""), stderr: await output(r.stderr ?? "") } : undefined;
    records.push({ cacheKey: e.cacheKey, ...(layer ? { layer } : {}), ...(exec ? { exec } : {}) });
  }
  records.sort((a, b) => (a.cacheKey < b.cacheKey ? -1 : a.cacheKey > b.cacheKey ? 1 : 0));
  // image-spec 1.1: an artifact without blobs lists the empty descriptor, so that readers wanting one layer are served.
  if (layers.length === 0) {
    const empty = await store.putBlob("{}");
    layers.push({ mediaType: MediaType.ociEmpty, ...empty });
  }
  const config: CacheConfig = { formatVersion: CACHE_FORMAT_VERSION, platform, records };
  const cfg = await store.putJson(config);
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: CACHE_ARTIFACT_TYPE,
    config: { mediaType: CACHE_CONFIG_TYPE, digest: cfg.digest, size: cfg.size },
    layers,
    annotations: { [VERSION_ANNOTATION]: String(CACHE_FORMAT_VERSION), [PLATFORM_ANNOTATION]: platformName, [MODE_ANNOTATION]: mode },
  };
  const m = await store.putJson(manifest);
  return { manifest: { mediaType: MediaType.ociManifest, digest: m.digest, size: m.size, platform }, layers, records: records.length };
}
