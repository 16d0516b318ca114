/**
 * Follows symbolic links inside a root directory the way docker resolves
 * COPY sources in the build context: every link is read relative to the
 * root, an absolute target means "from the root", and ".." never climbs
 * above it (the semantics of moby's symlink.FollowSymlinkInScope).
 */
import { lstat, readlink } from "node:fs/promises";
import { join } from "node:path";
import { LadingError } from "../errors.js";

/** Linux's limit on links followed while resolving one path. */
const MAX_LINKS = 40;

/**
 * The root-relative path `rel` leads to once every symlink on the way is
 * followed ("" = the root itself), or undefined when some component does
 * not exist. Throws for link loops.
 */
export async function resolveInRoot(root: string, rel: string): Promise<string | undefined> {
  const pending = rel.split("/").filter((p) => p !== "" && p !== ".");
  const done: string[] = [];
  let links = 0;
  while (pending.length) {
    const part = pending.shift()!;
    if (part === "..") {
      done.pop();
      continue;
    }
    const candidate = [...done, part].join("/");
    let st;
    try {
      st = await lstat(join(root, candidate));
    } catch {
      return undefined;
    }
    if (!st.isSymbolicLink()) {
      done.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw new LadingError("INVALID_ARGUMENT", `too many levels of symbolic links resolving ${rel}`);
    const target = await readlink(join(root, candidate));
    if (target.startsWith("/")) done.length = 0;
    pending.unshift(...target.split("/").filter((p) => p !== "" && p !== "."));
  }
  return done.join("/");
}
