/**
 * Git repositories as sources (Dagger's `GitRepository` and `GitRef`): a
 * ref names a commit, whose files are a Directory like any other. Lazy:
 * nothing asks the remote until a result is awaited, and then once per
 * remote and session; a full commit already fetched asks nothing.
 */
import { LadingError } from "../errors.js";
import { directoryNode, type GitAuthSpec, type GitRefSpec } from "../engine/ops.js";
import type { ApiContext } from "./context.js";
import { Directory } from "./directory.js";
import type { Secret } from "./secret.js";

/** Options of `Client.git`. */
export interface ClientGitOpts {
  /** Keep the `.git` directory in trees of this repository (a repository checked out at the commit). Default false. */
  keepGitDir?: boolean;
  /**
   * A token sent as http basic auth (user `x-access-token`), before and instead of the user's git credential helpers.
   * @example client.git(url, { httpAuthToken: client.secretFromEnv("gh", "GITHUB_TOKEN") })
   */
  httpAuthToken?: Secret;
  /** A whole `Authorization` header value (`Bearer …`, `Basic …`), before and instead of the credential helpers. */
  httpAuthHeader?: Secret;
  /** The ssh agent's socket for ssh URLs. Default: $SSH_AUTH_SOCK. */
  sshAuthSocket?: string;
  /** known_hosts lines the server's ssh host key is checked against, instead of ~/.ssh/known_hosts. */
  sshKnownHosts?: string;
}

/** Options of `GitRef.tree`. */
export interface GitRefTreeOpts {
  /** Leave `.git` out even when the repository was opened with keepGitDir. */
  discardGitDir?: boolean;
}

/** Options of `GitRepository.tags` and `GitRepository.branches`. */
export interface GitRepositoryTagsOpts {
  /** ls-remote patterns (`v1.*`): a name matches when the pattern matches its end after a `/`. Default: all. */
  patterns?: string[];
}

/**
 * Whether `address` names a git repository as docker's ADD and build
 * context tell one: ssh://, git://, `user@host:path`, or an http(s) URL
 * whose path ends in `.git` (a `#ref:subdir` fragment allowed).
 * @example isGitAddress("https://host/team/app.git#main:docs") // true
 */
export { isGitAddress, parseGitSource, type GitSourceSpec } from "../engine/sources/git.js";

const KNOWN = new Set(["keepGitDir", "httpAuthToken", "httpAuthHeader", "sshAuthSocket", "sshKnownHosts"]);

/**
 * A remote git repository, from `client.git(url)`. Reached with the
 * user's own git set-up: credential helpers, `~/.gitconfig`, the ssh agent.
 *
 * @example
 * const src = client.git("https://git.example.com/team/app.git").branch("main").tree();
 * await client.container().from("node:20").withDirectory("/src", src).withExec(["npm", "ci"]).sync();
 */
export class GitRepository {
  /** @internal */
  readonly ctx: ApiContext;
  /** @internal The URL as given to git: credentials taken out. */
  readonly url: string;
  /** @internal */
  readonly keepGitDir: boolean;
  /** @internal */
  readonly auth: GitAuthSpec;

  /** Not for direct use: made by `client.git`. */
  constructor(ctx: ApiContext, url: string, keepGitDir: boolean, auth: GitAuthSpec) {
    this.ctx = ctx;
    this.url = url;
    this.keepGitDir = keepGitDir;
    this.auth = auth;
  }

  /** @internal Checks the options of `client.git`. */
  static checkOpts(opts: ClientGitOpts): void {
    for (const k of Object.keys(opts)) if (!KNOWN.has(k)) throw new LadingError("INVALID_ARGUMENT", `unsupported git option "${k}"`);
    if (opts.httpAuthToken && opts.httpAuthHeader) throw new LadingError("INVALID_ARGUMENT", "give httpAuthToken or httpAuthHeader, not both");
  }

  /**
   * A branch (its commit is looked up when a result is first needed).
   * @param name `main` or `refs/heads/main`.
   * @example repo.branch("main").tree()
   */
  branch(name: string): GitRef {
    return this.make("branch", name);
  }

  /**
   * A tag (an annotated tag gives the commit it points at).
   * @param name `v1.2.0` or `refs/tags/v1.2.0`.
   * @example repo.tag("v1.2.0").commit()
   */
  tag(name: string): GitRef {
    return this.make("tag", name);
  }

  /**
   * A commit by its full name (40 hex digits; 64 in a sha256 repository). Asks the remote nothing when it was fetched before.
   * @param sha The commit's full name, lower-case hex.
   * @throws LadingError `INVALID_ARGUMENT` at once for anything but a full commit name.
   * @example repo.commit("1f0c9a3e5b2d4c6a8e0f1a2b3c4d5e6f7a8b9c0d").tree()
   */
  commit(sha: string): GitRef {
    if (!/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(sha)) throw new LadingError("INVALID_ARGUMENT", `commit "${sha}": give the full commit name (40 hex digits)`);
    return this.make("commit", sha);
  }

  /**
   * Any ref (`refs/pull/7/head`), or a name looked up as git does (full ref, then tag, then branch), or a full commit.
   * @param name A full ref, a short tag or branch name, or a full commit name.
   * @example repo.ref("refs/pull/7/head").tree()
   */
  ref(name: string): GitRef {
    return this.make("ref", name);
  }

  /**
   * The remote's HEAD (its default branch).
   * @example repo.head().tree()
   */
  head(): GitRef {
    return this.make("head", "HEAD");
  }

  /**
   * The remote's tag names (without `refs/tags/`), sorted.
   * @param opts See {@link GitRepositoryTagsOpts}.
   * @example await repo.tags({ patterns: ["v1.*"] }) // ["v1.0.0", "v1.1.0"]
   */
  async tags(opts: GitRepositoryTagsOpts = {}): Promise<string[]> {
    return this.names("refs/tags/", opts.patterns);
  }

  /**
   * The remote's branch names (without `refs/heads/`), sorted.
   * @param opts See {@link GitRepositoryTagsOpts}.
   * @example await repo.branches() // ["main", "release"]
   */
  async branches(opts: GitRepositoryTagsOpts = {}): Promise<string[]> {
    return this.names("refs/heads/", opts.patterns);
  }

  private async names(prefix: string, patterns?: string[]): Promise<string[]> {
    const { remoteNames } = await import("../engine/sources/git.js");
    return remoteNames(this.ctx.session, { url: this.url, auth: this.auth }, prefix, patterns);
  }

  private make(kind: GitRefSpec["kind"], name: string): GitRef {
    if (!name) throw new LadingError("INVALID_ARGUMENT", `a git ${kind} needs a name`);
    return new GitRef(this, Object.freeze({ kind, name }));
  }
}

/**
 * One ref of a repository: a branch, tag, commit or other ref.
 * @example const ref = client.git(url).tag("v1.2.0"); console.log(await ref.commit());
 */
export class GitRef {
  private readonly repo: GitRepository;
  private readonly spec: GitRefSpec;
  /** Not for direct use: made by `GitRepository`'s methods. */
  constructor(repo: GitRepository, spec: GitRefSpec) {
    this.repo = repo;
    this.spec = spec;
  }

  /**
   * The commit's files as a Directory (lazy). Modes (0644/0755) and symlinks are kept; every file's time is the commit's.
   * @param opts See {@link GitRefTreeOpts}.
   * @example client.container().from("alpine").withDirectory("/src", repo.branch("main").tree())
   */
  tree(opts: GitRefTreeOpts = {}): Directory {
    for (const k of Object.keys(opts)) if (k !== "discardGitDir") throw new LadingError("INVALID_ARGUMENT", `unsupported tree option "${k}"`);
    const keepGitDir = this.repo.keepGitDir && !opts.discardGitDir;
    return new Directory(this.repo.ctx, directoryNode(undefined, { type: "git", url: this.repo.url, ref: this.spec, keepGitDir, auth: this.repo.auth }));
  }

  /**
   * The full commit this ref names now (asks the remote once per session, unless pinned or already a commit).
   * @example await client.git(url).branch("main").commit() // "1f0c9a3e…"
   */
  async commit(): Promise<string> {
    const { resolveGitRef } = await import("../engine/sources/git.js");
    return (await resolveGitRef(this.repo.ctx.session, { url: this.repo.url, ref: this.spec, auth: this.repo.auth })).commit;
  }
}
