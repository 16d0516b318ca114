/**
 * The store's upkeep as callers see it: automatic collection after a build
 * (throttled across processes), `df` and `prune`.
 */
import { LadingError } from "../errors.js";
import type { Store } from "./store.js";
import { collectionDue, markCollected } from "./gc-stamp.js";
import { diskFacts } from "./disk.js";
import { bytesToFree, policyFigures, parseSize, type DiskFacts, type GcConfig, type PolicyFigures } from "./policy.js";
import { scanStore, usageByKind, type UsageByKind } from "./usage.js";
import { collectGarbage, collectLocked, planCollection, type CollectReport, type ReclaimTrees } from "./gc.js";
import { collectionCutoff } from "./leases.js";

/**
 * Collects if the policy says so, at most once a minute across processes:
 * the last run's time is kept in `lading/gc-last` under the "gc" lock. If
 * another process is collecting, returns at once. Returns what was freed,
 * or undefined when nothing ran.
 */
export async function maybeCollect(store: Store, config: GcConfig, opts: { now?: number; minIntervalMs?: number; reclaim?: ReclaimTrees } = {}): Promise<CollectReport | undefined> {
  if (config === false) return undefined;
  const now = opts.now ?? Date.now();
  const due = () => collectionDue(store, now, opts.minIntervalMs);
  // Looked at before the lock too: most sessions end well within the interval, and taking the lock
  // (loading proper-lockfile, a lock folder made and removed) was a tenth of a short command's CPU.
  if (!(await due())) return undefined;
  const release = await store.tryLock("gc").catch(() => undefined);
  if (!release) return undefined; // someone else is collecting right now
  try {
    if (!(await due())) return undefined;
    await markCollected(store, now);
    const disk = await diskFacts(store.root);
    const fig = policyFigures(config, disk.total);
    // The store cannot use more than the disk does: skip the scan when neither limit can be crossed.
    if (disk.free >= fig.minFreeSpace && disk.total - disk.free <= fig.maxUsedSpace) return undefined;
    const used = usageByKind(await scanStore(store)).total;
    const n = bytesToFree(fig, used, disk);
    if (n <= 0) return undefined;
    return await collectLocked(store, { bytesToFree: n, now, reclaim: opts.reclaim });
  } finally {
    await release().catch(() => {});
  }
}

export interface DiskUsageReport {
  /** Bytes by kind: images (what named images hold), layers (other blobs), snapshots, op cache, cache volumes, git mirrors, other state (not collectable). */
  usage: UsageByKind;
  /** Bytes a full `prune` would free now. */
  reclaimable: number;
  /** The filesystem holding the store. */
  disk: DiskFacts;
  /** The policy's figures for this disk; undefined when collection is off. */
  policy?: PolicyFigures;
  /** Bytes the policy would collect now. */
  dueBytes: number;
}

export async function diskUsage(store: Store, config: GcConfig): Promise<DiskUsageReport> {
  const now = Date.now();
  const [inv, disk, cutoff] = [await scanStore(store), await diskFacts(store.root), await collectionCutoff(store, now)];
  const usage = usageByKind(inv);
  const reclaimable = planCollection(inv, { cutoff, now }).reduce((a, i) => a + i.size, 0);
  const policy = config === false ? undefined : policyFigures(config, disk.total);
  return { usage, reclaimable, disk, policy, dueBytes: policy ? bytesToFree(policy, usage.total, disk) : 0 };
}

export interface PruneOptions {
  /** Also drop every named image (their blobs become collectable). */
  all?: boolean;
  /** Keep this much (bytes or "10GB"): collect only down to it, least recently used first. */
  keepStorage?: number | string;
  /** Only what has not been used for this long: ms, or "24h", "30m", "7d". */
  until?: number | string;
}

export interface PruneReport extends CollectReport {
  /** Names dropped (with `all`). */
  untagged: string[];
}

export async function pruneStore(store: Store, opts: PruneOptions = {}, reclaim?: ReclaimTrees): Promise<PruneReport> {
  const untagged: string[] = [];
  if (opts.all) for (const { name } of await store.listNames()) if (await store.untag(name)) untagged.push(name);
  const now = Date.now();
  const unusedBefore = opts.until === undefined ? undefined : now - parseDuration(opts.until);
  let bytes: number | undefined;
  if (opts.keepStorage !== undefined) {
    const keep = parseSize(opts.keepStorage, "keep-storage");
    bytes = Math.max(0, usageByKind(await scanStore(store)).total - keep);
    if (bytes === 0) return { removed: [], freed: 0, untagged };
  }
  const report = await collectGarbage(store, { bytesToFree: bytes, unusedBefore, now, reclaim });
  return { ...report, untagged };
}

/** "24h", "30m", "45s", "7d", "1h30m", or ms as a number. */
export function parseDuration(v: number | string): number {
  if (typeof v === "number") return v;
  const parts = [...v.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  const unit: Record<string, number> = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5 };
  if (!parts.length || parts.map((p) => p[0]).join("") !== v.trim()) {
    throw new LadingError("INVALID_ARGUMENT", `"${v}" is not a duration; write e.g. 24h, 30m, 7d`);
  }
  return parts.reduce((a, p) => a + Number(p[1]) * unit[p[2]!]!, 0);
}
