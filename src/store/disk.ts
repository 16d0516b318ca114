import { statfs } from "node:fs/promises";
import { wrapFsError } from "../errors.js";
import type { DiskFacts } from "./policy.js";

/** Size and free space of the filesystem holding `path` (free as an unprivileged writer sees it). */
export async function diskFacts(path: string): Promise<DiskFacts> {
  try {
    const s = await statfs(path);
    return { total: s.blocks * s.bsize, free: s.bavail * s.bsize };
  } catch (err) {
    throw wrapFsError(`reading the size of the filesystem holding ${path}`, err);
  }
}
