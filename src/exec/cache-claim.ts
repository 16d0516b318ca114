/**
 * Cache mounts with sharing PRIVATE, as BuildKit does them: an exec gets
 * the cache itself when no other exec holds it, else the first free private
 * copy beside it (`<dir>.private-N`, made empty and kept for later use), so
 * it never waits and never shares. LOCKED instead waits for the cache.
 */
import { mkdir, utimes } from "node:fs/promises";
import { basename } from "node:path";
import { LadingError } from "../errors.js";
import type { ExecStore } from "./exec-store.js";

/** Past this many copies in use at once, something is looping: say so rather than fill the disk. */
const MAX_COPIES = 64;

export function cacheLockName(dir: string): string {
  return `cache-${basename(dir)}`;
}

export async function claimPrivateCache(store: ExecStore, dir: string): Promise<{ dir: string; release: () => Promise<void> }> {
  for (let i = 0; i < MAX_COPIES; i++) {
    const candidate = i === 0 ? dir : `${dir}.private-${i}`;
    const release = await store.tryLock(cacheLockName(candidate));
    if (!release) continue;
    await mkdir(candidate, { recursive: true });
    // Its mtime is its last use for `lading prune` and the GC policy.
    const now = new Date();
    await utimes(candidate, now, now).catch(() => {});
    return { dir: candidate, release };
  }
  throw new LadingError("INTERNAL", `${MAX_COPIES} private copies of the cache ${dir} are in use at once`);
}
