import { lstat } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { LadingError } from "../../errors.js";
import type { TreeEntry } from "../tree.js";
import { hashFile } from "./host.js";

/** A single host file as a tree entry (owner reset to 0:0, as for directories; a later mtime than `mtimeCeiling` recorded as it, see host-walk.ts). */
export async function hostFileEntry(path: string, mtimeCeiling?: number): Promise<TreeEntry & { name: string }> {
  const abs = resolve(path);
  let s;
  try {
    s = await lstat(abs);
  } catch (err) {
    throw new LadingError("NOT_FOUND", `host file ${abs} does not exist`, { cause: err });
  }
  if (!s.isFile()) throw new LadingError("INVALID_ARGUMENT", `host path ${abs} is not a regular file`);
  return {
    name: basename(abs),
    path: "",
    type: "file",
    mode: s.mode & 0o7777,
    uid: 0,
    gid: 0,
    mtime: mtimeCeiling === undefined ? Math.floor(s.mtimeMs / 1000) : Math.min(Math.floor(s.mtimeMs / 1000), mtimeCeiling),
    size: s.size,
    content: { kind: "host", path: abs },
    contentDigest: await hashFile(abs),
  };
}
