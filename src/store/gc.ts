/**
 * Garbage collection: frees what the store can rebuild or refetch
 * (op-cache records, unpacked root filesystems and snapshots, cache
 * volumes, git mirrors, blobs no named image reaches), never what a named image holds
 * and never anything created or used since the oldest live lease started.
 *
 * Order (issue 6): cache volumes and snapshots unused for 48 h first, then
 * anything unused for 60 days, then the rest, least recently used first,
 * until enough is freed. A blob stays while a kept op-cache record or a
 * kept manifest points at it, so the store never holds a record or a
 * manifest whose blobs are gone.
 *
 * Crash safety: records and manifests are removed before the blobs they
 * point at; files and folders are first renamed into the temp area (one
 * atomic step, swept later), so a crash never leaves a half-deleted
 * snapshot under its chain id, and a build that claims a blob while it is
 * being collected keeps it (removeUnlessUsed).
 */
import { compactUseCounts, readUseCounts } from "./use-counts.js";
import { rename, rm, stat } from "node:fs/promises";
import type { Digest } from "../oci/digest.js";
import type { Store } from "./store.js";
import { scanStore, type Inventory, type ItemKind, type StoreItem } from "./usage.js";
import { collectionCutoff } from "./leases.js";
import { sweepAllTemp } from "./temp-sweep.js";

const HOUR = 3_600_000;
const TRANSIENT_AGE = 48 * HOUR;
const OLD_AGE = 60 * 24 * HOUR;

export interface PlanOptions {
  /** Nothing used at or after this time (ms) is touched: the oldest live lease's start. */
  cutoff: number;
  now: number;
  /** Stop once this many bytes are planned; default: everything collectable. */
  bytesToFree?: number;
  /** Only items last used before this time (ms) (`prune --filter until=`). */
  unusedBefore?: number;
}

function hour(ms: number): number {
  return Math.floor(ms / 3_600_000);
}

/** 0: volumes and snapshots idle 48 h; 1: anything idle 60 days; 2: the rest. */
function tier(i: StoreItem, now: number): number {
  const idle = now - i.lastUsed;
  if ((i.kind === "volume" || i.kind === "snapshot") && idle >= TRANSIENT_AGE) return 0;
  if (idle >= OLD_AGE) return 1;
  return 2;
}

/** The items to remove, in the order to remove them. Pure: reads only `inv`. */
export function planCollection(inv: Inventory, opts: PlanOptions): StoreItem[] {
  const refcount = new Map<Digest, number>();
  for (const i of inv.items) for (const r of i.refs) refcount.set(r, (refcount.get(r) ?? 0) + 1);
  const limit = Math.min(opts.cutoff, opts.unusedBefore ?? Infinity);
  const candidates = inv.items
    .filter((i) => !i.rooted && i.lastUsed < limit)
    .map((i) => ({ i, t: tier(i, opts.now) }))
    // Least recently used first (by the hour, so that near-ties go by use count), then least used.
    .sort((a, b) => a.t - b.t || hour(a.i.lastUsed) - hour(b.i.lastUsed) || (a.i.uses ?? 0) - (b.i.uses ?? 0) || a.i.lastUsed - b.i.lastUsed || (a.i.id < b.i.id ? -1 : 1));
  // Always take the first eligible candidate in that order; a blob becomes
  // eligible once everything pointing at it is planned for removal. A heap
  // of eligible ranks keeps this O(n log n) on stores with many blobs.
  const rankOfBlob = new Map<string, number>();
  candidates.forEach(({ i }, rank) => i.kind === "layer" && rankOfBlob.set(i.id, rank));
  const ready = new MinHeap();
  candidates.forEach(({ i }, rank) => (i.kind !== "layer" || (refcount.get(i.id as Digest) ?? 0) === 0) && ready.push(rank));
  const plan: StoreItem[] = [];
  let freed = 0;
  const target = opts.bytesToFree ?? Infinity;
  while (freed < target && ready.size > 0) {
    const next = candidates[ready.pop()]!.i;
    plan.push(next);
    freed += next.size;
    for (const r of next.refs) {
      const left = refcount.get(r)! - 1;
      refcount.set(r, left);
      const rank = rankOfBlob.get(r);
      if (left === 0 && rank !== undefined) ready.push(rank);
    }
  }
  return plan;
}

/** A binary min-heap of numbers. */
class MinHeap {
  private readonly a: number[] = [];
  get size(): number {
    return this.a.length;
  }
  push(v: number): void {
    const a = this.a;
    a.push(v);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (a[p]! <= a[i]!) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop(): number {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]! < a[m]!) m = l;
        if (r < a.length && a[r]! < a[m]!) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

export interface RemovedItem {
  kind: ItemKind;
  id: string;
  size: number;
}

export interface CollectReport {
  removed: RemovedItem[];
  freed: number;
}

/**
 * Removes the planned items. An item used again since the plan was made
 * (its mtime moved past the cutoff) is kept, and so is everything it
 * points at.
 */
export async function removeItems(store: Store, inv: Inventory, plan: StoreItem[], cutoff: number, reclaim?: ReclaimTrees): Promise<CollectReport> {
  const keep = new Set<string>();
  const removed: RemovedItem[] = [];
  let freed = 0;
  for (const item of plan) {
    if (keep.has(item.id) || (await usedSince(item.paths, cutoff)) || !(await removeItemUnlessUsed(store, item, cutoff, reclaim))) {
      for (const r of item.refs) keep.add(r);
      continue;
    }
    if (item.kind === "layer") for (const pin of inv.pins.get(item.id as Digest) ?? []) await rm(pin, { force: true });
    removed.push({ kind: item.kind, id: item.id, size: item.size });
    freed += item.size;
  }
  return { removed, freed };
}

async function usedSince(paths: readonly string[], cutoff: number): Promise<boolean> {
  for (const p of paths) {
    const st = await stat(p).catch(() => undefined);
    if (st && st.mtimeMs >= cutoff) return true;
  }
  return false;
}

/**
 * A git mirror is removed only under the lock a fetch into it holds
 * (src/git/index.ts ensureCommit); one being fetched right now stays.
 */
async function removeItemUnlessUsed(store: Store, item: StoreItem, cutoff: number, reclaim: ReclaimTrees | undefined): Promise<boolean> {
  if (item.kind !== "gitmirror") return removeUnlessUsed(store, item.paths, cutoff, reclaim);
  const release = await store.tryLock(`git-mirror-${item.id}`);
  if (!release) return false;
  try {
    return await removeUnlessUsed(store, item.paths, cutoff, reclaim);
  } finally {
    await release().catch(() => {});
  }
}

/**
 * Moves the item's paths into the temp area, then looks at their mtimes
 * once more: a build that claimed one between the check and the move
 * (Store.claimBlob touches, then looks) has moved its mtime, and the move
 * carried that mtime along, so the paths go back and the item stays. A
 * claim after the move finds the path gone and writes it again. Only then
 * is anything deleted. Returns whether the item was removed.
 */
async function removeUnlessUsed(store: Store, paths: readonly string[], cutoff: number, reclaim: ReclaimTrees | undefined): Promise<boolean> {
  const moved: Array<{ from: string; to: string }> = [];
  for (const p of paths) {
    const to = store.tempPath("gc");
    try {
      await reclaimingOnce(p, reclaim, () => rename(p, to));
      moved.push({ from: p, to });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
  if (await usedSince(moved.map((m) => m.to), cutoff)) {
    // Back in place; where the user already wrote the path again (same bytes, by its name), that copy stays.
    for (const m of moved) await rename(m.to, m.from).catch(() => rm(m.to, { recursive: true, force: true }));
    return false;
  }
  for (const m of moved) await reclaimingOnce(m.to, reclaim, () => rm(m.to, { recursive: true, force: true }));
  return true;
}

/**
 * Hands a tree under the store back to the store's owner (rootless, an exec
 * may leave files owned by subordinate ids, which the user cannot move or
 * remove from outside the namespace). The engine supplies it; without one,
 * such a tree fails the collection with the permission error.
 */
export type ReclaimTrees = (paths: readonly string[]) => Promise<void>;

/** Runs `op` on `path`; refused for permission, reclaims the tree once and tries again. */
async function reclaimingOnce(path: string, reclaim: ReclaimTrees | undefined, op: () => Promise<void>): Promise<void> {
  try {
    await op();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!reclaim || (code !== "EACCES" && code !== "EPERM")) throw err;
    await reclaim([path]);
    await op();
  }
}

export interface CollectOptions {
  /** Hands back trees subordinate ids own (see ReclaimTrees). */
  reclaim?: ReclaimTrees;
  bytesToFree?: number;
  unusedBefore?: number;
  now?: number;
}

/** Collects now, holding the store's "gc" lock (waits for another collector to finish). */
export async function collectGarbage(store: Store, opts: CollectOptions = {}): Promise<CollectReport> {
  return store.withLock("gc", () => collectLocked(store, opts));
}

/** The body of a collection; the caller holds the "gc" lock. */
export async function collectLocked(store: Store, opts: CollectOptions = {}): Promise<CollectReport> {
  await sweepAllTemp(store);
  const now = opts.now ?? Date.now();
  const cutoff = await collectionCutoff(store, now);
  const inv = await scanStore(store);
  const counts = await readUseCounts(store.root);
  for (const i of inv.items) i.uses = counts.get(i.id) ?? Math.max(0, ...i.paths.map((p) => counts.get(p) ?? 0));
  const plan = planCollection(inv, { cutoff, now, bytesToFree: opts.bytesToFree, unusedBefore: opts.unusedBefore });
  const report = await removeItems(store, inv, plan, cutoff, opts.reclaim);
  const removed = new Set(plan.flatMap((i) => [i.id, ...i.paths]));
  await compactUseCounts(store.root, counts, (id) => !removed.has(id));
  return report;
}
