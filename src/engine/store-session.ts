/**
 * The store as a client session holds it: opened with its disk policy and a
 * lease (while the lease holds, nothing the session made or used is
 * collected), and the store's maintenance (df, prune, fsck, collection when
 * the session ends). api/ reaches the store only through here, so the
 * store's modules stay an engine matter.
 */
import { resolve } from "node:path";
import type { EnvConfig } from "../env-config.js";
import { defaultStoreDir } from "../store/paths.js";
import type { GcConfig } from "../store/policy.js";
import type { Lease } from "../store/leases.js";
import type { ReclaimTrees } from "../store/gc.js";
import type { DiskUsageReport, PruneOptions, PruneReport } from "../store/maintenance.js";
import type { FsckReport } from "../store/fsck.js";
import { Store } from "../store/store.js";

export type { DiskUsageReport, PruneOptions, PruneReport } from "../store/maintenance.js";
export type { FsckReport, FsckProblem, FsckProblemKind } from "../store/fsck.js";
export type { GcConfig, GcSettings, SizeSetting, PolicyFigures } from "../store/policy.js";
export type { Lease } from "../store/leases.js";

export interface OpenedStore {
  store: Store;
  gc: GcConfig;
}

/** Opens the store at `path` (default: $LADING_HOME, else the XDG data home) and resolves its disk policy. */
export async function openStore(path: string | undefined, gc: GcConfig | undefined, env: EnvConfig): Promise<OpenedStore> {
  const store = await Store.open(path ? resolve(path) : defaultStoreDir(env), { shared: env.sharedStore });
  const { resolveGcConfig } = await import("../store/policy-config.js");
  return { store, gc: await resolveGcConfig(store.root, gc, env.gc) };
}

/** Takes a lease on the store for this session; release it when the session ends. */
export async function leaseStore(store: Store): Promise<Lease> {
  const { acquireLease } = await import("../store/leases.js");
  return acquireLease(store);
}

/** Collects garbage if the disk policy says it is due; a failure here never fails the caller. */
export async function collectIfDue(o: OpenedStore, env: EnvConfig): Promise<void> {
  if (o.gc === false) return;
  const { collectionDue, markCollected } = await import("../store/gc-stamp.js");
  // A store this session made holds nothing older than the session's lease, so there is nothing to collect: it
  // is only stamped as looked at (without the gc lock), or the next session would take the lock to find nothing.
  if (o.store.fresh) return markCollected(o.store).catch(() => {});
  // The collector loads only when the last look is old enough (maybeCollect looks again under its lock).
  if (!(await collectionDue(o.store, Date.now()).catch(() => true))) return;
  const { maybeCollect } = await import("../store/maintenance.js");
  await maybeCollect(o.store, o.gc, { reclaim: reclaimerFor(o.store, env) }).catch(() => {});
}

export async function storeDiskUsage(o: OpenedStore): Promise<DiskUsageReport> {
  const { diskUsage } = await import("../store/maintenance.js");
  return diskUsage(o.store, o.gc);
}

export async function pruneStore(store: Store, opts: PruneOptions, env: EnvConfig): Promise<PruneReport> {
  const m = await import("../store/maintenance.js");
  return m.pruneStore(store, opts, reclaimerFor(store, env));
}

/**
 * Rootless, what an exec wrote as another user of the image (a cache volume
 * filled by `USER 1000`) is owned by a subordinate id: only the exec helper,
 * inside lading's namespace, can hand it back so the store can remove it.
 * Loaded only when the store meets such a tree.
 */
function reclaimerFor(store: Store, env: EnvConfig): ReclaimTrees {
  return async (paths) => {
    const [{ reclaimTrees }, { EXEC_HELPER }] = await Promise.all([import("../exec/run.js"), import("./exec-helper-path.js")]);
    await reclaimTrees(store.root, EXEC_HELPER, env, paths);
  };
}

export async function fsckStore(store: Store, opts: { repair?: boolean }): Promise<FsckReport> {
  const { fsck } = await import("../store/fsck.js");
  return fsck(store, opts);
}
