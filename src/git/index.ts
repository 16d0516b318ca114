/**
 * The git part's face to the engine: list a remote's refs, and write one
 * commit's files into a folder, fetching it into a local mirror only when
 * the mirror lacks it. It knows nothing of the store: the engine hands it
 * a folder for mirrors, a private temp folder and a lock.
 */
import { createHash } from "node:crypto";
import { checkoutCommit } from "./checkout.js";
import { remoteAccess, type GitAuth, type RemoteAccess } from "./auth.js";
import { commitTime, fetchCommit, hasCommit, openMirror } from "./mirror.js";
import { listRemote, type RemoteRefs } from "./refs.js";
import type { GitRemote } from "./url.js";

export { isGitAddress, parseGitSource, parseRemote, redactText, type GitRemote, type GitSourceSpec } from "./url.js";
export { FULL_SHA, namesUnder, resolveName, type RefKind, type RemoteRefs } from "./refs.js";
export type { GitAuth, RemoteAccess } from "./auth.js";

/** What the engine lends the git part. */
export interface GitPlace {
  /** Where mirrors live (kept between sessions). */
  mirrors: string;
  /** A fresh private (0700) temp folder, removed with the session. */
  privateDir(): Promise<string>;
  /** Runs `fn` holding a lock named `name`, across processes. */
  withLock<T>(name: string, fn: () => Promise<T>): Promise<T>;
  signal?: AbortSignal;
}

export function accessFor(place: GitPlace, remote: GitRemote, auth: GitAuth): Promise<RemoteAccess> {
  return remoteAccess(remote, auth, place.privateDir);
}

export function lsRemote(place: GitPlace, remote: GitRemote, access: RemoteAccess): Promise<RemoteRefs> {
  return listRemote(remote, access, place.signal);
}

/** Whether the local mirror of `remote` already holds `commit` (then nothing needs the server). */
export async function mirrorHas(place: GitPlace, remote: GitRemote, commit: string): Promise<boolean> {
  return hasCommit(await openMirror(place.mirrors, remote.url), commit);
}

/**
 * Writes `commit` of `remote` into `dest` (an empty folder), fetching it
 * first when the mirror lacks it (`ref`: the remote ref it was resolved
 * from). Returns the commit's time, for the files' mtimes.
 */
export async function checkout(place: GitPlace, req: { remote: GitRemote; access: RemoteAccess; commit: string; ref?: string; dest: string; keepGitDir: boolean }): Promise<{ time: number }> {
  const mirror = await place.withLock(`git-mirror-${createHash("sha256").update(req.remote.url).digest("hex").slice(0, 32)}`, async () => {
    const m = await openMirror(place.mirrors, req.remote.url);
    await fetchCommit(m, req.remote, req.access, req.commit, req.ref, place.signal);
    return m;
  });
  await checkoutCommit({ mirror, remote: req.remote, access: req.access, commit: req.commit, dest: req.dest, keepGitDir: req.keepGitDir, signal: place.signal });
  return { time: await commitTime(mirror, req.commit) };
}
