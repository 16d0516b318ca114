/**
 * A local bare repository per remote (in a folder the caller owns: the
 * engine gives one inside the store), holding every commit lading fetched
 * from it. A commit already there is never fetched again: a build from a
 * pinned or full commit asks the server nothing. Each fetched commit gets
 * a ref `refs/lading/<commit>`, so git's own gc never drops it.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { utimes } from "node:fs/promises";
import { join } from "node:path";
import { LadingError } from "../errors.js";
import { runGit } from "./command.js";
import { remoteError, type RemoteAccess } from "./auth.js";
import type { GitRemote } from "./url.js";

/**
 * The bare repository for `url` under `root` (made when missing). Its
 * folder's mtime is its last use: the store's collection keeps a mirror
 * used since the oldest running session started, and frees the others.
 */
export async function openMirror(root: string, url: string): Promise<string> {
  const dir = join(root, createHash("sha256").update(url).digest("hex").slice(0, 32) + ".git");
  if (!existsSync(join(dir, "HEAD"))) {
    const r = await runGit(["init", "--quiet", "--bare", dir]);
    if (r.code !== 0) throw new LadingError("INTERNAL", `cannot make the git cache ${dir}: ${r.stderr.trim()}`);
    // Lading's refs keep what it needs; git must not pack or prune behind a reader's back.
    await runGit(["--git-dir", dir, "config", "gc.auto", "0"]);
  } else {
    const now = new Date();
    await utimes(dir, now, now).catch(() => {});
  }
  return dir;
}

/** Whether the mirror holds `commit` (a commit object, not just any object of that name). */
export async function hasCommit(mirror: string, commit: string): Promise<boolean> {
  const r = await runGit(["--git-dir", mirror, "cat-file", "-e", `${commit}^{commit}`]);
  return r.code === 0;
}

/** Which fetch brought a commit: by the ref it was resolved from, by its own name, or with every branch and tag. */
export type FetchedBy = "ref" | "commit" | "all";

/**
 * Fetches `commit` into the mirror unless it is there, and says how. `ref` is the remote
 * ref it was resolved from (fetched by name: every server serves those);
 * when the ref has moved since, or there is none, the commit is fetched by
 * its name (protocol v2 servers allow it), and as a last resort every
 * branch and tag is fetched and searched.
 */
export async function fetchCommit(mirror: string, remote: GitRemote, access: RemoteAccess, commit: string, ref: string | undefined, signal?: AbortSignal): Promise<"present" | FetchedBy> {
  if (await hasCommit(mirror, commit)) return "present";
  const run = (spec: string[]) =>
    runGit(["--git-dir", mirror, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--", remote.url, ...spec], { config: access.config, env: access.env, redact: access.redact, signal });
  const attempts: Array<[FetchedBy, string[]]> = [];
  if (ref && ref !== commit) attempts.push(["ref", [`+${ref}:refs/lading/fetch/${commit}`]]);
  attempts.push(["commit", [`+${commit}:refs/lading/fetch/${commit}`]]);
  attempts.push(["all", ["+refs/heads/*:refs/lading/all/heads/*", "+refs/tags/*:refs/lading/all/tags/*"]]);
  let last;
  for (const [by, spec] of attempts) {
    last = await run(spec);
    // Credentials refused or missing, or no server: another refspec will not help.
    if (last.code !== 0 && !/not our ref|couldn't find remote ref|upload-pack: not our ref|no such remote ref|want .* not valid|Server does not allow request/i.test(last.stderr)) break;
    if (last.code === 0 && (await hasCommit(mirror, commit))) {
      await runGit(["--git-dir", mirror, "update-ref", `refs/lading/${commit}`, commit]);
      await runGit(["--git-dir", mirror, "update-ref", "-d", `refs/lading/fetch/${commit}`]);
      return by;
    }
  }
  if (last && last.code !== 0) throw remoteError(`git fetch ${remote.url}`, remote, access, last);
  throw new LadingError("NOT_FOUND", `${remote.url} has no commit ${commit} (it is on none of its branches or tags)`);
}

/** The committer time of `commit`, in seconds: the time every checked-out file gets, so a tree is the same on any machine. */
export async function commitTime(mirror: string, commit: string): Promise<number> {
  const r = await runGit(["--git-dir", mirror, "show", "-s", "--format=%ct", commit]);
  const t = Number(r.stdout.trim());
  if (r.code !== 0 || !Number.isInteger(t)) throw new LadingError("INTERNAL", `cannot read the time of commit ${commit}: ${r.stderr.trim()}`);
  return t;
}
