import { open, rename, rm, writeFile, mkdir } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { dirname, join, basename } from "node:path";
import { wrapFsError } from "../errors.js";

/** A unique temporary name beside `target` (same filesystem, so rename is atomic). */
export function tempNameFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
}

/** fsync a directory so a rename inside it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } catch {
    // Some filesystems (tmpfs, overlay on some kernels) refuse fsync on directories; rename is still atomic there.
  } finally {
    await fh.close();
  }
}

/**
 * Writes `data` to `target` atomically: temp file beside it, fsync, rename,
 * fsync of the directory. On failure nothing is left at `target` that was
 * not there before, and the temp file is removed.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  // Folders made here (a credentials file's ~/.docker, a store's parents) are private, as docker and XDG make them.
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  const tmp = tempNameFor(target);
  try {
    await writeFile(tmp, data, { mode, flush: true });
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw wrapFsError(`writing ${target}`, err);
  }
  await fsyncDir(dirname(target));
}
