/**
 * A remote's refs, from one `git ls-remote --symref` (the engine asks once
 * per remote and session), and how a name resolves against them: a branch,
 * a tag (annotated tags peeled to their commit), a full ref, HEAD, or a
 * name in git's own lookup order (rev-parse's ref_rev_parse_rules).
 */
import { LadingError } from "../errors.js";
import { gitOutput } from "./command.js";
import { remoteError, type RemoteAccess } from "./auth.js";
import type { GitRemote } from "./url.js";

export interface RemoteRefs {
  /** Full ref name → the object it names (for an annotated tag: the tag object). */
  refs: ReadonlyMap<string, string>;
  /** Full ref name of a tag → the commit it peels to. */
  peeled: ReadonlyMap<string, string>;
  /** HEAD's commit, and the branch it points at when the server says. */
  head?: { commit: string; target?: string };
}

export type RefKind = "branch" | "tag" | "commit" | "ref" | "head";

/** A full object name: sha1 (40) or sha256 (64) hex. */
export const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** Lists the remote's refs (one request to the server). */
export async function listRemote(remote: GitRemote, access: RemoteAccess, signal?: AbortSignal): Promise<RemoteRefs> {
  const out = await gitOutput(["ls-remote", "--symref", "--", remote.url], { config: access.config, env: access.env, redact: access.redact, signal }, (r) =>
    remoteError(`git ls-remote ${remote.url}`, remote, access, r),
  );
  return parseLsRemote(out);
}

export function parseLsRemote(text: string): RemoteRefs {
  const refs = new Map<string, string>();
  const peeled = new Map<string, string>();
  let headTarget: string | undefined;
  for (const line of text.split("\n")) {
    if (!line) continue;
    const [left, name] = line.split("\t");
    if (!left || !name) continue;
    if (left.startsWith("ref: ")) {
      if (name === "HEAD") headTarget = left.slice(5);
      continue;
    }
    if (name.endsWith("^{}")) peeled.set(name.slice(0, -3), left);
    else refs.set(name, left);
  }
  const headCommit = refs.get("HEAD");
  return { refs, peeled, ...(headCommit ? { head: { commit: headCommit, ...(headTarget ? { target: headTarget } : {}) } } : {}) };
}

/** The commit `name` of `kind` names on the remote, with the full ref it came from (to fetch by). */
export function resolveName(refs: RemoteRefs, kind: RefKind, name: string, url: string): { commit: string; ref: string } {
  const get = (ref: string) => {
    const obj = refs.peeled.get(ref) ?? refs.refs.get(ref);
    return obj ? { commit: obj, ref } : undefined;
  };
  let found: { commit: string; ref: string } | undefined;
  switch (kind) {
    case "head":
      if (!refs.head) throw new LadingError("NOT_FOUND", `${url} has no HEAD (an empty repository?)`);
      return { commit: refs.head.commit, ref: "HEAD" };
    case "branch":
      found = get(`refs/heads/${name.replace(/^refs\/heads\//, "")}`);
      if (!found) throw new LadingError("NOT_FOUND", `${url} has no branch ${name}`);
      return found;
    case "tag":
      found = get(`refs/tags/${name.replace(/^refs\/tags\//, "")}`);
      if (!found) throw new LadingError("NOT_FOUND", `${url} has no tag ${name}`);
      return found;
    case "commit":
      return { commit: name, ref: name };
    case "ref":
      if (name === "HEAD") return resolveName(refs, "head", name, url);
      for (const candidate of [name, `refs/${name}`, `refs/tags/${name}`, `refs/heads/${name}`, `refs/remotes/${name}`, `refs/remotes/${name}/HEAD`]) {
        found = get(candidate);
        if (found) return found;
      }
      throw new LadingError("NOT_FOUND", `${url} has no branch, tag or ref named ${name}`);
  }
}

/** Short names of the remote's refs under `prefix` (refs/tags/, refs/heads/), filtered as `git ls-remote <patterns>` filters. */
export function namesUnder(refs: RemoteRefs, prefix: string, patterns: readonly string[] = []): string[] {
  const matchers = patterns.map(tailMatcher);
  return [...refs.refs.keys()]
    .filter((r) => r.startsWith(prefix))
    .filter((r) => matchers.length === 0 || matchers.some((m) => m(r)))
    .map((r) => r.slice(prefix.length))
    .sort();
}

/** ls-remote's pattern rule: the pattern matches the whole ref name or its tail after a "/" (wildcards as fnmatch, `*` crossing "/"). */
function tailMatcher(pattern: string): (ref: string) => boolean {
  const body = pattern.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".").replace(/\[!/g, "[^");
  const re = new RegExp(`(^|/)${body}$`);
  return (ref) => re.test(ref);
}
