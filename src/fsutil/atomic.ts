import { link, open, rename, rm, stat, writeFile, mkdir } from "node:fs/promises";
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
 *
 * `durable: false` keeps the atomic rename but leaves out both fsyncs, for
 * records that mean nothing after a crash (a running process's lease, the
 * time of the last collection): readers still never see a half-written
 * file, and a short command no longer waits on the disk for them.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array, mode = 0o644, opts: { durable?: boolean } = {}): Promise<void> {
  const durable = opts.durable ?? true;
  // Folders made here (a credentials file's ~/.docker, a store's parents) are private, as docker and XDG make them.
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  const tmp = tempNameFor(target);
  try {
    await writeFile(tmp, data, { mode, flush: durable });
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw wrapFsError(`writing ${target}`, err);
  }
  if (durable) await fsyncDir(dirname(target));
}

/**
 * Creates `target` with `data` unless it exists, atomically and without a
 * lock: the bytes go to a temp file (fsynced), which is then hard-linked to
 * `target`; link(2) refuses an existing name, so a file someone else made
 * meanwhile is never replaced, and nobody sees it half-written. Returns
 * whether this call made it. Filesystems without hard links get false from
 * `linked` instead (the caller takes its lock then).
 */
export async function createFileIfAbsent(target: string, data: string | Uint8Array, mode = 0o644): Promise<{ created: boolean; linked: boolean }> {
  try {
    await stat(target);
    return { created: false, linked: true };
  } catch {
    // absent: make it
  }
  const tmp = tempNameFor(target);
  try {
    await writeFile(tmp, data, { mode, flush: true });
    await link(tmp, target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return { created: false, linked: true };
    if (code === "EPERM" || code === "ENOTSUP" || code === "EOPNOTSUPP" || code === "EMLINK") return { created: false, linked: false };
    throw wrapFsError(`writing ${target}`, err);
  } finally {
    await rm(tmp, { force: true });
  }
  await fsyncDir(dirname(target));
  return { created: true, linked: true };
}
