/**
 * Git sources in the engine: a ref resolves to a commit (from the lock's
 * pins, a full commit as is, else one `git ls-remote` per remote and
 * session), and a commit becomes a Tree read from a checkout in session
 * temp space. The mirror of fetched commits lives in the store, so a
 * commit fetched once is never fetched again.
 *
 * Files are made the same on every machine: mtimes are the commit's time,
 * modes 0644/0755 from the executable bit (a checkout follows the umask),
 * directories 0755, owners 0:0.
 */
import { randomBytes } from "node:crypto";
import { LadingError } from "../../errors.js";
import { sha256 } from "../../oci/digest.js";
import { canonicalJson } from "../../oci/json.js";
import type * as gitTypes from "../../git/index.js";
import { parseRemote } from "../../git/url.js";
import type { GitAuthSpec, GitRefSpec } from "../ops.js";
import type { Session } from "../session.js";
import { makeTree, type Tree, type TreeEntry } from "../tree.js";
import { runStep } from "../steps/run-step.js";
import type { StepAttribute } from "../events.js";

/**
 * The address of a repository as lading keeps it (credentials out), and a
 * session secret holding the basic-auth header for credentials written in
 * an http URL (`https://user:token@host/…`), so they are still used.
 */
export function openGitAddress(session: Session, address: string): { url: string; urlAuth?: { name: string } } {
  const remote = parseRemote(address);
  if (!remote.userinfo) return { url: remote.url };
  const name = `git-url-credentials-${randomBytes(8).toString("hex")}`;
  session.secrets.set(name, Buffer.from(`Basic ${Buffer.from(`${remote.userinfo.username}:${remote.userinfo.password}`).toString("base64")}`));
  return { url: remote.url, urlAuth: { name } };
}

export { isGitAddress, parseGitSource, type GitSourceSpec } from "../../git/url.js";

/** The git part loads when a git source is read (it runs the git command): client.git() alone only parses. */
const gitPart = () => import("../../git/index.js");

export interface GitSourceRequest {
  url: string;
  ref: GitRefSpec;
  auth: GitAuthSpec;
}

/** The commit `req.ref` names, and the remote ref to fetch it by. */
export async function resolveGitRef(session: Session, req: GitSourceRequest): Promise<{ commit: string; ref?: string }> {
  const { kind, name } = req.ref;
  const git = await gitPart();
  if (kind === "commit" || (kind === "ref" && git.FULL_SHA.test(name))) {
    if (!git.FULL_SHA.test(name)) throw new LadingError("INVALID_ARGUMENT", `commit "${name}" of ${req.url}: give the full 40-character commit (a short one would need every branch fetched to look it up)`);
    return { commit: name };
  }
  const source = gitPinKey(req.url, req.ref);
  const pinned = session.config.sourcePins?.[source];
  if (pinned) {
    session.resolutions.set(source, pinned);
    return { commit: pinned, ref: fullRefOf(req.ref) };
  }
  if (session.config.requirePins) throw new LadingError("NOT_FOUND", `${source} has no pin in the lock file and the lock is frozen; run the build with --lock=update to record one`);
  const refs = await remoteRefs(session, req);
  const found = git.resolveName(refs, kind, name, req.url);
  session.resolutions.set(source, found.commit);
  return found;
}

/** The remote's refs, listed once per session. */
export async function remoteRefs(session: Session, req: Pick<GitSourceRequest, "url" | "auth">): Promise<gitTypes.RemoteRefs> {
  let p = session.gitRemotes.get(req.url) as Promise<gitTypes.RemoteRefs> | undefined;
  if (!p) {
    p = (async () => {
      const git = await gitPart();
      const remote = git.parseRemote(req.url);
      const place = await gitPlace(session);
      session.debug(`git ls-remote ${remote.url}`);
      return git.lsRemote(place, remote, await git.accessFor(place, remote, authOf(session, req.auth)));
    })();
    session.gitRemotes.set(req.url, p);
    p.catch(() => session.gitRemotes.delete(req.url));
  }
  return p;
}

/** Short names of the remote's refs under `prefix` (`refs/tags/`), filtered by ls-remote patterns. */
export async function remoteNames(session: Session, req: Pick<GitSourceRequest, "url" | "auth">, prefix: string, patterns?: readonly string[]): Promise<string[]> {
  const refs = await remoteRefs(session, req);
  return (await gitPart()).namesUnder(refs, prefix, patterns);
}

/** A git source's facts for traces: where (never with credentials: `url` has none), which ref, which commit. */
export function gitAttributes(req: Pick<GitSourceRequest, "url" | "ref">, commit: string): Record<string, StepAttribute> {
  return { "lading.git.url": req.url, ...(req.ref.kind === "head" ? {} : { "lading.git.ref": req.ref.name }), "lading.git.commit": commit };
}

/** The files of `commit` as a Tree (`.git` only with keepGitDir). */
export async function readGitTree(session: Session, req: GitSourceRequest & { commit: string; fetchRef?: string; keepGitDir: boolean }): Promise<Tree> {
  const git = await gitPart();
  const remote = git.parseRemote(req.url);
  const place = await gitPlace(session);
  const dest = await session.tempDir("git");
  session.debug(`git checkout ${remote.url} ${req.commit}${req.keepGitDir ? " (keeping .git)" : ""}`);
  const { time } = await git.checkout(place, { remote, access: await git.accessFor(place, remote, authOf(session, req.auth)), commit: req.commit, ref: req.fetchRef, dest, keepGitDir: req.keepGitDir });
  const read = await (await import("./host.js")).readHostDirectory(dest);
  const entries = (await read.list()).map((e) => normalise(e, time));
  const tree = makeTree(entries);
  // A kept .git holds an index with inode numbers and times: its bytes differ
  // per checkout, but what it stands for is the commit, so the key is that.
  return req.keepGitDir ? { key: sha256(canonicalJson({ git: req.commit, keepGitDir: true })), entries: tree.entries } : tree;
}

function normalise(e: TreeEntry, time: number): TreeEntry {
  const mode = e.type === "directory" ? 0o755 : e.type === "symlink" ? 0o777 : e.mode & 0o111 ? 0o755 : 0o644;
  return { ...e, mode, uid: 0, gid: 0, mtime: time };
}

/** The lock's key for a git source: the URL, and the name as written after `#` (none: the remote's HEAD). */
export function gitPinKey(url: string, ref: GitRefSpec): string {
  switch (ref.kind) {
    case "head":
      return url;
    case "branch":
      return `${url}#refs/heads/${ref.name.replace(/^refs\/heads\//, "")}`;
    case "tag":
      return `${url}#refs/tags/${ref.name.replace(/^refs\/tags\//, "")}`;
    default:
      return `${url}#${ref.name}`;
  }
}

function fullRefOf(ref: GitRefSpec): string | undefined {
  if (ref.kind === "branch") return `refs/heads/${ref.name.replace(/^refs\/heads\//, "")}`;
  if (ref.kind === "tag") return `refs/tags/${ref.name.replace(/^refs\/tags\//, "")}`;
  if (ref.kind === "head") return "HEAD";
  return ref.name;
}

function authOf(session: Session, spec: GitAuthSpec): gitTypes.GitAuth {
  const secret = (r: { name: string } | undefined, what: string) => {
    if (!r) return undefined;
    const v = session.secrets.get(r.name);
    if (!v) throw new LadingError("NOT_FOUND", `the ${what} secret "${r.name}" is not known to this session`);
    return v.toString("utf8");
  };
  return {
    ...(spec.token ? { token: secret(spec.token, "httpAuthToken") } : {}),
    ...(spec.header ? { header: secret(spec.header, "httpAuthHeader") } : {}),
    ...(spec.sshAuthSocket ? { sshAuthSocket: spec.sshAuthSocket } : {}),
    ...(spec.sshKnownHosts !== undefined ? { sshKnownHosts: spec.sshKnownHosts } : {}),
  };
}

async function gitPlace(session: Session): Promise<gitTypes.GitPlace> {
  return {
    mirrors: await session.store.stateDir("git"),
    privateDir: () => session.tempDir("git-auth"),
    // A fetch of a large repository takes as long as it takes.
    withLock: (name, fn) => session.store.withLock(name, fn, { waitForever: true }),
    signal: session.config.signal,
    // Each talk with a server is a detail step (a span in traces) of the step it serves, with its lading.git.* facts.
    phase: (name, facts, fn) => {
      const attributes: Record<string, StepAttribute> = { ...facts };
      const id = `${name}:${randomBytes(6).toString("hex")}`;
      return runStep(session, { id, name, kind: "detail", metadataOnly: true, attributes }, () => fn((more) => Object.assign(attributes, more)));
    },
  };
}
