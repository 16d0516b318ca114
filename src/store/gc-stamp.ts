/**
 * When the store was last looked at for collection (`lading/gc-last`).
 * Apart from maintenance.ts because every session's close reads it, and
 * almost always finds the last look recent: loading the collector's modules
 * (policy, disk, usage, gc, leases) only to learn that cost a short command
 * ~10 ms.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../fsutil/atomic.js";
import type { Store } from "./store.js";

/** Automatic collection runs at most this often per store, across processes. */
export const AUTO_GC_INTERVAL_MS = 60_000;

/** Stamps the store as collected now (what maybeCollect does when it runs), for a store with nothing to collect. */
export async function markCollected(store: Store, now = Date.now()): Promise<void> {
  // Not fsynced: a stamp lost in a crash only means the next session checks again.
  await writeFileAtomic(stampPath(store), String(now), 0o644, { durable: false });
}

/** Whether the last look at the store is at least `intervalMs` old at `now` (never looked at: yes). */
export async function collectionDue(store: Store, now: number, intervalMs = AUTO_GC_INTERVAL_MS): Promise<boolean> {
  const last = Number((await readFile(stampPath(store), "utf8").catch(() => "0")).trim()) || 0;
  return now - last >= intervalMs;
}

function stampPath(store: Store): string {
  return join(store.root, "lading", "gc-last");
}
