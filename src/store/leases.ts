/**
 * Leases: a running client announces itself with a file
 * `lading/leases/<pid>-<rand>.json` holding its start time, refreshed while
 * it runs. Garbage collection never removes anything created or used since
 * the oldest live lease started, so a build never loses what it is using.
 * A lease is stale once its process is gone, or once it has not been
 * refreshed for STALE_MS (a pid reused by another program).
 */
import { randomBytes } from "node:crypto";
import { readFile, readdir, rm, stat, utimes } from "node:fs/promises";
import { join } from "node:path";
import { pidAlive } from "../fsutil/pid-alive.js";
import type { Store } from "./store.js";
import { writeFileAtomic } from "../fsutil/atomic.js";

const REFRESH_MS = 30_000;
const STALE_MS = 10 * 60_000;

export interface Lease {
  readonly path: string;
  /** When the lease was taken (ms since the epoch). */
  readonly start: number;
  release(): Promise<void>;
}

interface LeaseRecord {
  pid: number;
  start: number;
}

function leaseDir(store: Store): string {
  return join(store.root, "lading", "leases");
}

/** Takes a lease on `store` for this process; release it when done (an exiting process's lease goes stale anyway). */
export async function acquireLease(store: Store): Promise<Lease> {
  const dir = await store.stateDir("leases"); // group-writable in a shared store: every user's builds take leases
  const start = Date.now();
  const path = join(dir, `${process.pid}-${randomBytes(6).toString("hex")}.json`);
  // Not fsynced: a lease means something only while its process runs, and a crash ends every such process.
  await writeFileAtomic(path, JSON.stringify({ pid: process.pid, start } satisfies LeaseRecord), 0o644, { durable: false });
  const timer = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => {});
  }, REFRESH_MS);
  timer.unref();
  let released = false;
  return {
    path,
    start,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await rm(path, { force: true });
    },
  };
}

/** The live leases (stale ones are removed on the way). */
export async function liveLeases(store: Store): Promise<Array<LeaseRecord & { path: string }>> {
  const dir = leaseDir(store);
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: Array<LeaseRecord & { path: string }> = [];
  for (const n of names) {
    if (!n.endsWith(".json") || n.startsWith(".")) continue;
    const path = join(dir, n);
    try {
      const rec = JSON.parse(await readFile(path, "utf8")) as LeaseRecord;
      const st = await stat(path);
      const alive = Number.isInteger(rec.pid) && pidAlive(rec.pid) && Date.now() - st.mtimeMs < STALE_MS;
      if (alive) out.push({ ...rec, path });
      else await rm(path, { force: true });
    } catch {
      // Unreadable: a writer died before the rename could not leave this; someone removed it meanwhile.
    }
  }
  return out;
}

/**
 * The time before which things may be collected: the start of the oldest
 * live lease, or `now`. Two seconds of slack cover filesystems whose
 * timestamps lag the wall clock by a tick.
 */
export async function collectionCutoff(store: Store, now = Date.now()): Promise<number> {
  const leases = await liveLeases(store);
  const oldest = Math.min(now, ...leases.map((l) => l.start));
  return oldest - 2_000;
}
