/**
 * lading.lock: beside the Containerfile, the digest every registry source
 * resolved to and the commit every git source resolved to (as Dagger keeps
 * `source` + `pin`), so a later build uses the same bytes. Modes: auto (use pins, record new ones), frozen (use pins,
 * a source without one is an error), update (re-resolve everything), off.
 */
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { UsageError } from "./io.js";
import { writeFileAtomic } from "../fsutil/atomic.js";
import { isGitAddress } from "../index.js";

export type LockMode = "auto" | "frozen" | "update" | "off";

export interface LockFile {
  version: 1;
  sources: Record<string, string>;
}

function isGitSourceKey(k: string): boolean {
  return isGitAddress(k) || /^[a-z][a-z0-9+.-]*:\/\//i.test(k);
}

export function lockPathFor(containerfile: string): string {
  return join(dirname(containerfile), "lading.lock");
}

export async function readLock(path: string): Promise<LockFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  try {
    const lock = JSON.parse(text) as LockFile;
    if (lock.version !== 1 || typeof lock.sources !== "object" || lock.sources === null) throw new UsageError("expected {\"version\":1,\"sources\":{…}}");
    for (const [k, v] of Object.entries(lock.sources)) {
      // A git source (`https://host/repo.git#main`) is pinned to a commit; a registry source to a digest.
      if (isGitSourceKey(k)) {
        if (!/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(v)) throw new UsageError(`the pin of ${k} is not a full git commit`);
      } else if (!/^sha256:[a-f0-9]{64}$/.test(v)) throw new UsageError(`the pin of ${k} is not a sha256 digest`);
    }
    return lock;
  } catch (err) {
    throw new UsageError(`${path} is not a valid lading.lock: ${(err as Error).message}; fix it or rebuild with --lock=update`);
  }
}

/** Options for connect() that apply the lock. */
export function lockConnectOptions(mode: LockMode, lock: LockFile | undefined, path: string): { sourcePins?: Record<string, string>; requirePins?: boolean; pull?: "always" } {
  if (mode === "off") return {};
  if (mode === "update") return { pull: "always" };
  if (mode === "frozen") {
    if (!lock) throw new UsageError(`--lock=frozen: ${path} does not exist; build once with --lock=update to create it`);
    return { sourcePins: lock.sources, requirePins: true };
  }
  return lock ? { sourcePins: lock.sources } : {};
}

/** Writes the lock when the build resolved registry sources and the pins changed. Returns whether it wrote. */
export async function writeLock(path: string, mode: LockMode, previous: LockFile | undefined, resolved: Array<{ source: string; pin: string }>): Promise<boolean> {
  if (mode === "off" || mode === "frozen" || resolved.length === 0) return false;
  const sources: Record<string, string> = mode === "update" ? {} : { ...previous?.sources };
  for (const r of resolved) sources[r.source] = r.pin;
  const sorted = Object.fromEntries(Object.entries(sources).sort(([a], [b]) => (a < b ? -1 : 1)));
  if (previous && JSON.stringify(previous.sources) === JSON.stringify(sorted)) return false;
  const text = JSON.stringify({ version: 1, sources: sorted }, null, 2) + "\n";
  // fsynced before the rename: a crash leaves the old lock or the new one, never an empty file.
  await writeFileAtomic(path, text);
  return true;
}
