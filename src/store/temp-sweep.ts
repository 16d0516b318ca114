/**
 * Atomic writes leave `.<name>.<pid>.<rand>.tmp` beside their target until
 * they rename it; a process killed in between leaves it behind. The store's
 * own sweep covers its root and `lading/tmp`; this covers lading's other
 * folders (op cache, pins, leases, unpacked trees). Files of live
 * processes are never touched.
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { pidAlive } from "../fsutil/pid-alive.js";
import type { Store } from "./store.js";

const ATOMIC_TEMP = /^\..*\.(\d+)\.[0-9a-f]+\.tmp$/;
const STATE_DIRS = ["opcache", "pins", "leases", "rootfs", "snapshots", "volumes", "registry", "hashcache"];

/** Temp files and folders of dead processes, outside `lading/tmp` (which Store.sweepTemp handles). */
export async function strayTempFiles(store: Store): Promise<string[]> {
  const out: string[] = [];
  for (const d of STATE_DIRS) out.push(...(await deadNamed(join(store.root, "lading", d), ATOMIC_TEMP)));
  // exec's half-made snapshots: snapshots/<id mapping>/.tmp-<pid>-<rand>
  const snaps = join(store.root, "lading", "snapshots");
  for (const tag of await readdir(snaps).catch(() => [] as string[])) out.push(...(await deadNamed(join(snaps, tag), /^\.tmp-(\d+)-/)));
  // build modules' half-made dependency checkouts: modules/deps/<pin>.tmp-<pid>-<rand>
  out.push(...(await deadNamed(join(store.root, "lading", "modules", "deps"), /\.tmp-(\d+)-/)));
  return out;
}

/** The entries of `dir` whose name matches `pattern` with the pid of a process that no longer runs (its group 1). */
async function deadNamed(dir: string, pattern: RegExp): Promise<string[]> {
  const out: string[] = [];
  for (const n of await readdir(dir).catch(() => [] as string[])) {
    const m = pattern.exec(n);
    if (m && !pidAlive(Number(m[1]))) out.push(join(dir, n));
  }
  return out;
}

/** Temp entries of dead processes still in `lading/tmp`. */
export async function deadTempEntries(store: Store): Promise<string[]> {
  const dir = join(store.root, "lading", "tmp");
  const out: string[] = [];
  for (const n of await readdir(dir).catch(() => [] as string[])) {
    const pid = Number(n.split(".")[1]);
    if (Number.isInteger(pid) && pid > 0 && !pidAlive(pid)) out.push(join(dir, n));
  }
  return out;
}

/** Removes every temp file and folder left by processes that no longer run. */
export async function sweepAllTemp(store: Store): Promise<number> {
  const stray = await strayTempFiles(store);
  for (const p of stray) await rm(p, { recursive: true, force: true }).catch(() => {});
  const before = (await deadTempEntries(store)).length;
  await store.sweepTemp();
  return stray.length + before;
}
