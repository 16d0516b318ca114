/**
 * The git part's face to the engine: list a remote's refs, and write one
 * commit's files into a folder, fetching it into a local mirror only when
 * the mirror lacks it. It knows nothing of the store: the engine hands it
 * a folder for mirrors, a private temp folder and a lock.
 */
import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { LadingError } from "../errors.js";
import { submodulesOf } from "./submodules.js";
import { parseRemote } from "./url.js";
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
  /**
   * Runs `fn`, a talk with a remote (a ref listing, a fetch), as a phase the
   * lender reports (traces show it, with `facts`); `fn` adds what it learns
   * on the way through `learn`. Facts never hold credentials: they name
   * `remote.url`, which has none. Without it, `fn` just runs.
   */
  phase?<T>(name: string, facts: Record<string, GitFact>, fn: (learn: (more: Record<string, GitFact>) => void) => Promise<T>): Promise<T>;
  signal?: AbortSignal;
}

/** A fact about a git phase for traces (`lading.git.*`). */
export type GitFact = string | number | boolean;

function inPhase<T>(place: GitPlace, name: string, facts: Record<string, GitFact>, fn: (learn: (more: Record<string, GitFact>) => void) => Promise<T>): Promise<T> {
  return place.phase ? place.phase(name, facts, fn) : fn(() => {});
}

export function accessFor(place: GitPlace, remote: GitRemote, auth: GitAuth): Promise<RemoteAccess> {
  return remoteAccess(remote, auth, place.privateDir);
}

export function lsRemote(place: GitPlace, remote: GitRemote, access: RemoteAccess): Promise<RemoteRefs> {
  return inPhase(place, `git ls-remote ${remote.url}`, { "lading.git.url": remote.url }, async (learn) => {
    const refs = await listRemote(remote, access, place.signal);
    learn({ "lading.git.refs": refs.refs.size });
    return refs;
  });
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
  const mirror = await ensureCommit(place, req.remote, req.access, req.commit, req.ref);
  const networkPhase = <T>(fn: () => Promise<T>) => inPhase(place, `git submodule update ${req.remote.url}`, { "lading.git.url": req.remote.url, "lading.git.commit": req.commit }, fn);
  await checkoutCommit({ mirror, remote: req.remote, access: req.access, commit: req.commit, dest: req.dest, keepGitDir: req.keepGitDir, signal: place.signal, networkPhase });
  if (!req.keepGitDir) await checkoutSubmodules(place, req.remote, req.access, mirror, req.commit, req.dest, 0);
  return { time: await commitTime(mirror, req.commit) };
}

/** Nesting deeper than this is a loop of submodules, not a project. */
const MAX_SUBMODULE_DEPTH = 10;

async function checkoutSubmodules(place: GitPlace, remote: GitRemote, access: RemoteAccess, mirror: string, commit: string, dest: string, depth: number): Promise<void> {
  const subs = await submodulesOf(mirror, commit, remote.url);
  if (subs.length && depth >= MAX_SUBMODULE_DEPTH) throw new LadingError("INVALID_ARGUMENT", `submodules of ${remote.url} nest deeper than ${MAX_SUBMODULE_DEPTH} levels`);
  for (const sub of subs) {
    const subRemote = parseRemote(sub.url);
    // The same origin keeps the same access; another host gets only the user's own set-up (an explicit secret is for its origin alone).
    const sameOrigin = subRemote.protocol === remote.protocol && subRemote.host === remote.host;
    const subAccess = sameOrigin ? access : await remoteAccess(subRemote, {}, place.privateDir);
    const subMirror = await ensureCommit(place, subRemote, subAccess, sub.commit, undefined);
    const at = join(dest, sub.path);
    await mkdir(at, { recursive: true });
    await checkoutCommit({ mirror: subMirror, remote: subRemote, access: subAccess, commit: sub.commit, dest: at, keepGitDir: false, signal: place.signal });
    await checkoutSubmodules(place, subRemote, subAccess, subMirror, sub.commit, at, depth + 1);
  }
}

/** The mirror of `remote`, holding `commit` (fetched under the mirror's lock when missing). */
function ensureCommit(place: GitPlace, remote: GitRemote, access: RemoteAccess, commit: string, ref: string | undefined): Promise<string> {
  return place.withLock(`git-mirror-${createHash("sha256").update(remote.url).digest("hex").slice(0, 32)}`, async () => {
    const m = await openMirror(place.mirrors, remote.url);
    // Only a fetch that goes to the server is a phase: a commit the mirror holds costs nothing worth showing.
    if (await hasCommit(m, commit)) return m;
    await inPhase(place, `git fetch ${remote.url}`, { "lading.git.url": remote.url, "lading.git.commit": commit, ...(ref ? { "lading.git.ref": ref } : {}) }, async (learn) => {
      learn({ "lading.git.fetch.by": await fetchCommit(m, remote, access, commit, ref, place.signal) });
    });
    return m;
  });
}
