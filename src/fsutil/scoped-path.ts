/**
 * Follows symbolic links inside a root directory the way docker resolves
 * COPY sources in the build context: every link is read relative to the
 * root, an absolute target means "from the root", and ".." never climbs
 * above it (the semantics of moby's symlink.FollowSymlinkInScope).
 *
 * The walk itself is separate from where links are read, so the same rules
 * apply to a directory on the host and to an image known only by its layers.
 */
import { lstat, readlink } from "node:fs/promises";
import { join } from "node:path";
import { LadingError } from "../errors.js";

/** Linux's limit on links followed while resolving one path. */
const MAX_LINKS = 40;

/**
 * What is at a root-relative path: a symbolic link (and its target),
 * something else, or nothing; "stop" ends the walk there (the result is
 * then undefined), for a lookup that finds it cannot go on.
 */
export type ScopedEntry = { link: string } | "present" | "missing" | "stop";

export interface FollowOptions {
  /** Whether a link as the last component is followed too (default true). */
  followLast?: boolean;
  /**
   * A missing component: "fail" (default) gives undefined; "keep" keeps it
   * and the rest as written (where something would be created).
   */
  missing?: "fail" | "keep";
  /** Too many links on the way: "throw" (default) an INVALID_ARGUMENT error, or "stop" (the result is undefined). */
  loops?: "throw" | "stop";
}

/** A component to look up: its root-relative path, and whether it is the last one. */
export interface ScopedStep {
  rel: string;
  last: boolean;
}

/**
 * The root-relative path `rel` leads to once the symlinks on the way are
 * followed ("" = the root itself). `lookup` says what is at a root-relative
 * path. Throws for link loops.
 */
export async function followInScope(rel: string, lookup: (rel: string, step: ScopedStep) => Promise<ScopedEntry>, opts: FollowOptions = {}): Promise<string | undefined> {
  const walk = scopeWalk(rel, opts);
  for (let r = walk.next(); ; ) {
    if (r.done) return r.value;
    r = walk.next(await lookup(r.value.rel, r.value));
  }
}

/** followInScope with a synchronous lookup (which may also make what is missing, and say "present"). */
export function followInScopeSync(rel: string, lookup: (rel: string, step: ScopedStep) => ScopedEntry, opts: FollowOptions = {}): string | undefined {
  const walk = scopeWalk(rel, opts);
  for (let r = walk.next(); ; ) {
    if (r.done) return r.value;
    r = walk.next(lookup(r.value.rel, r.value));
  }
}

/** The walk of the path's components: yields each to look up, takes what is there, returns where it leads. */
function* scopeWalk(rel: string, opts: FollowOptions): Generator<ScopedStep, string | undefined, ScopedEntry> {
  const pending = rel.split("/").filter((p) => p !== "" && p !== ".");
  const done: string[] = [];
  let links = 0;
  while (pending.length) {
    const part = pending.shift()!;
    if (part === "..") {
      done.pop();
      continue;
    }
    const found = yield { rel: [...done, part].join("/"), last: pending.length === 0 };
    if (found === "stop") return undefined;
    if (found === "missing") {
      if (opts.missing !== "keep") return undefined;
      done.push(part);
      continue;
    }
    if (found === "present" || (pending.length === 0 && opts.followLast === false)) {
      done.push(part);
      continue;
    }
    if (++links > MAX_LINKS) {
      if (opts.loops === "stop") return undefined;
      throw new LadingError("INVALID_ARGUMENT", `too many levels of symbolic links resolving ${rel}`);
    }
    if (found.link.startsWith("/")) done.length = 0;
    pending.unshift(...found.link.split("/").filter((p) => p !== "" && p !== "."));
  }
  return done.join("/");
}

/** Reads what is at `rel` below the host directory `root` (links not followed). */
export function hostLookup(root: string): (rel: string) => Promise<ScopedEntry> {
  return async (rel) => {
    const p = join(root, rel);
    try {
      return (await lstat(p)).isSymbolicLink() ? { link: await readlink(p) } : "present";
    } catch {
      return "missing";
    }
  };
}

/**
 * The root-relative path `rel` leads to on the host once every symlink on
 * the way is followed ("" = the root itself), or undefined when some
 * component does not exist. Throws for link loops.
 */
export async function resolveInRoot(root: string, rel: string): Promise<string | undefined> {
  return followInScope(rel, hostLookup(root));
}
