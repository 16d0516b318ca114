/**
 * Reading registry build caches (`cacheFrom`): each cache reference is
 * read once per session (its manifest and record list, never its layers),
 * and a step whose op cache key it holds is taken from it. A cache that
 * cannot be used — missing, unreachable, malformed, another platform or
 * format — costs one notice and nothing else: the build goes on as if it
 * had not been given. Layers stay in the registry until something reads
 * them (lazy.ts).
 */
import { LadingError, RegistryError } from "../../errors.js";
import type { Digest } from "../../oci/digest.js";
import type { Descriptor, ImageManifest, Platform } from "../../oci/types.js";
import { platformMatches } from "../../oci/platform-match.js";
import type { RegistryClient } from "../../registry/client.js";
import type { Reference } from "../../registry/reference.js";
import { formatPlatform } from "../image-state.js";
import type { Session } from "../session.js";
import { transferEvents } from "../transfer-events.js";
import type { StepAttribute } from "../events.js";
import { runStep } from "../steps/run-step.js";
import { cacheState, type LazyBlob } from "./state.js";
import { CacheRejected, checkCacheIndex, checkCacheManifest, readCacheConfig, type ImportedRecord } from "./format.js";

interface LoadedCache {
  ref: string;
  reference: Reference;
  platform: Platform;
  records: Map<Digest, ImportedRecord>;
}

/** A hit in a registry cache, in the shape the local op cache records. */
export interface RemoteHit {
  source: string;
  record: { layer?: ImportedRecord["layer"]; exitCode?: number; stdout?: string; stderr?: string };
}

/**
 * Reading a cache is an optimisation: against a registry that is down, two
 * quick retries, not the five with back-off a pull gets (~6 s of waiting
 * before the build could even start its own work).
 */
const PROBE_RETRIES = 2;

const clients = new WeakMap<Session, { probe: RegistryClient; blobs: RegistryClient }>();

async function clientsOf(session: Session): Promise<{ probe: RegistryClient; blobs: RegistryClient }> {
  let c = clients.get(session);
  if (!c) {
    const { RegistryClient } = await import("../../registry/client.js");
    const base = { ...session.config.registry, env: session.config.env };
    c = clients.get(session);
    if (c) return c;
    c = { probe: new RegistryClient({ ...base, retries: PROBE_RETRIES }), blobs: new RegistryClient({ ...base, onProgress: transferEvents(session, "cache", "pull") }) };
    clients.set(session, c);
    const opened = c;
    session.atClose(async () => {
      clients.delete(session);
      await Promise.all([opened.probe.close(), opened.blobs.close()]);
    });
  }
  return c;
}

/** One notice per cache and reason, as a warning event (every progress mode shows it). */
function notice(session: Session, key: string, message: string): void {
  const st = cacheState(session);
  if (st.noticed.has(key)) return;
  st.noticed.add(key);
  session.emit({ type: "warning", message });
}

function reason(err: unknown): string {
  if (err instanceof RegistryError && err.statusCode === 404) return "it is not in the registry";
  if (err instanceof CacheRejected) return err.message;
  return (err as Error).message;
}

/** What a cache reference holds: one cache, or an index of caches by platform. */
type CacheRoot = { kind: "manifest"; cache: LoadedCache } | { kind: "index"; reference: Reference; entries: Descriptor[] };

/**
 * Reads one cache manifest or index, as a step of its own (traces show when
 * it was read and for how long). It never fails: a cache it cannot use
 * gives a notice.
 */
async function importStep<T>(session: Session, ref: string, read: () => Promise<T>): Promise<T | undefined> {
  const attributes: Record<string, StepAttribute> = { "lading.cache.ref": ref };
  return runStep(session, { id: `cache-import:${ref}`, name: `import cache ${ref}`, metadataOnly: true, attributes }, async () => {
    let out: T | undefined;
    try {
      out = await read();
    } catch (err) {
      if (session.config.signal?.aborted) throw err;
      notice(session, `load:${ref}`, `build cache ${ref} is not used: ${reason(err)}; the build goes on without it`);
    }
    // Read by runStep when the step ends.
    attributes["lading.cache.used"] = out !== undefined;
    return out;
  });
}

async function readRoot(session: Session, ref: string): Promise<CacheRoot> {
  const { parseReference, referenceTagOrDigest } = await import("../../registry/reference.js");
  const reference = parseReference(ref);
  const { probe } = await clientsOf(session);
  const got = await probe.fetchManifest(reference, referenceTagOrDigest(reference), session.config.signal);
  const body = parseJson(got.bytes);
  if (Array.isArray((body as { manifests?: unknown }).manifests)) {
    checkCacheIndex(body);
    return { kind: "index", reference, entries: (body as { manifests: Descriptor[] }).manifests };
  }
  const cache = await readManifest(session, ref, reference, body);
  return { kind: "manifest", cache };
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new CacheRejected("its manifest is not JSON");
  }
}

/** A cache manifest's record list, fetched and checked whole. */
async function readManifest(session: Session, ref: string, reference: Reference, body: unknown): Promise<LoadedCache> {
  const manifest = body as Partial<ImageManifest> & { artifactType?: string };
  checkCacheManifest(manifest);
  const config = manifest.config!;
  if (!Number.isInteger(config.size) || config.size < 0) throw new CacheRejected("its record list has no valid size");
  const { probe } = await clientsOf(session);
  await probe.fetchBlob(reference, config, session.store, session.config.signal);
  const { platform, records } = readCacheConfig(await session.store.readBlob(config.digest), manifest.layers!);
  return { ref, reference, platform, records: new Map(records.map((r) => [r.cacheKey, r])) };
}

function memo<T>(session: Session, key: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
  const st = cacheState(session);
  let p = st.sources.get(key) as Promise<T | undefined> | undefined;
  if (!p) {
    p = load();
    st.sources.set(key, p);
  }
  return p;
}

/** The cache `ref` holds for `platform` (from an index: that platform's manifest, read once), or undefined with a notice. */
async function cacheFor(session: Session, ref: string, platform: Platform): Promise<LoadedCache | undefined> {
  const root = await memo(session, ref, () => importStep(session, ref, () => readRoot(session, ref)));
  if (!root) return undefined;
  const same = (p: Platform | undefined) => !!p && platformMatches(p, platform) && platformMatches(platform, p);
  const want = formatPlatform(platform);
  if (root.kind === "manifest") {
    if (same(root.cache.platform)) return root.cache;
    notice(session, `platform:${ref}:${want}`, `build cache ${ref} is for ${formatPlatform(root.cache.platform)}, not ${want}; it is not used for this platform`);
    return undefined;
  }
  const entry = root.entries.find((e) => same(e.platform));
  if (!entry) {
    const has = root.entries.map((e) => (e.platform ? formatPlatform(e.platform) : "?")).join(", ");
    notice(session, `platform:${ref}:${want}`, `build cache ${ref} has no cache for ${want} (it has: ${has || "none"}); it is not used for this platform`);
    return undefined;
  }
  return memo(session, `${ref}@${entry.digest}`, () =>
    importStep(session, `${ref}@${entry.digest}`, async () => {
      const { probe } = await clientsOf(session);
      const got = await probe.fetchManifest(root.reference, entry.digest, session.config.signal);
      const cache = await readManifest(session, ref, root.reference, parseJson(got.bytes));
      if (!same(cache.platform)) throw new CacheRejected(`its entry for ${want} holds a cache for ${formatPlatform(cache.platform)}`);
      return cache;
    }),
  );
}

/**
 * The record a registry cache holds for `cacheKey`, taken (outputs
 * fetched, the layer left lazy, the local op cache written) — or undefined.
 * Caches are asked in the order given; one for another platform is skipped.
 */
export async function takeRemote(session: Session, cacheKey: Digest, platform: Platform): Promise<RemoteHit | undefined> {
  // Every cache starts loading at the first lookup, side by side.
  const caches = session.cacheSources.map((ref) => cacheFor(session, ref, platform));
  for (const p of caches) {
    const cache = await p;
    const r = cache?.records.get(cacheKey);
    if (cache && r) return { source: cache.ref, record: await takeRecord(session, cache, r) };
  }
  return undefined;
}

async function takeRecord(session: Session, cache: LoadedCache, r: ImportedRecord): Promise<RemoteHit["record"]> {
  const record: RemoteHit["record"] = r.exec
    ? { exitCode: r.exec.exitCode, stdout: await outputText(session, cache, r.exec.stdout), stderr: await outputText(session, cache, r.exec.stderr), ...(r.layer ? { layer: r.layer } : {}) }
    : { layer: r.layer! };
  const store = session.store;
  if (!r.layer || (await store.claimBlob(r.layer.descriptor.digest, r.layer.descriptor.size))) {
    await store.putCached(r.cacheKey, record);
    return record;
  }
  const lazy = cacheState(session).lazy;
  const d = r.layer.descriptor;
  let blob = lazy.get(d.digest);
  if (!blob) {
    blob = { descriptor: d, source: { ref: cache.ref, reference: cache.reference }, pending: [] };
    lazy.set(d.digest, blob);
  }
  blob.pending.push({ cacheKey: r.cacheKey, record });
  return record;
}

async function outputText(session: Session, cache: LoadedCache, o: string | Descriptor): Promise<string> {
  if (typeof o === "string") return o;
  const { blobs } = await clientsOf(session);
  await blobs.fetchBlob(cache.reference, o, session.store, session.config.signal);
  return (await session.store.readBlob(o.digest)).toString("utf8");
}

/** Downloads lazy blobs (each once, however many readers ask), then writes the op cache records that waited for them. */
export async function fetchLazyBlobs(session: Session, need: readonly LazyBlob[]): Promise<void> {
  const { blobs } = await clientsOf(session);
  const { forEachBounded } = await import("../../registry/pool.js");
  await forEachBounded(
    need,
    blobs.config.concurrency,
    (b, signal) => {
      b.fetching ??= (async () => {
        try {
          await blobs.fetchBlob(b.source.reference, b.descriptor, session.store, signal);
        } catch (err) {
          b.fetching = undefined;
          throw new LadingError((err as LadingError).code ?? "REGISTRY", `a step was taken from the build cache ${b.source.ref}, but its layer ${b.descriptor.digest} could not be fetched: ${(err as Error).message}; run the build again without --cache-from ${b.source.ref}`, { cause: err });
        }
        for (const p of b.pending.splice(0)) await session.store.putCached(p.cacheKey, p.record);
        cacheState(session).lazy.delete(b.descriptor.digest);
      })();
      return b.fetching;
    },
    session.config.signal,
  );
}
