/**
 * Handing trees under the store back to the user who owns the store.
 * Rootless, an exec writes files as subordinate ids (a cache volume a
 * `USER 1000` step filled, a folder it made read-only): outside the
 * namespace the user can neither move nor remove them, so garbage
 * collection could never free them. Inside it, the user is root over
 * those ids: the tree is chowned to the namespace's root (the user
 * outside) and its folders made writable, after which the store removes
 * it as it removes anything else. Links are chowned, never followed.
 */
import { chmod, lchown, lstat, readdir, realpath } from "node:fs/promises";
import { join, relative, isAbsolute } from "node:path";
import { LadingError } from "../errors.js";
import type { HelperMessage, ReclaimJob } from "./job.js";

export async function reclaimJob(job: ReclaimJob, send: (m: HelperMessage) => void): Promise<void> {
  const root = await realpath(job.storeRoot);
  for (const p of job.paths) {
    const real = await realpath(p).catch(() => undefined);
    if (!real) continue; // already gone
    const rel = relative(root, real);
    if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) {
      throw new LadingError("INVALID_ARGUMENT", `reclaiming ${p}: only paths inside the store ${root} are handed back`);
    }
    await reclaimTree(real);
  }
  send({ type: "reclaimed", paths: job.paths.length });
}

async function reclaimTree(path: string): Promise<void> {
  await lchown(path, 0, 0);
  const st = await lstat(path);
  if (!st.isDirectory()) return;
  if ((st.mode & 0o700) !== 0o700) await chmod(path, (st.mode & 0o7777) | 0o700);
  for (const name of await readdir(path)) await reclaimTree(join(path, name));
}
