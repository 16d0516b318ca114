/**
 * Writes the files of one commit into an empty folder.
 *
 * Plain case: the commit's tree is read into a private index and checked
 * out from the mirror (`read-tree` + `checkout-index`): no repository is
 * made, nothing touches the network (submodules are the caller's: each
 * comes from its own mirror). With keepGitDir the folder becomes a real
 * repository (origin = the remote's URL, never credentials) checked out
 * at the commit, and `git submodule update --init --recursive` fetches
 * the submodules with the same access as the main repository, so their
 * `.git` is a working one too.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { LadingError } from "../errors.js";
import { runGit, type GitResult } from "./command.js";
import { remoteError, type RemoteAccess } from "./auth.js";
import type { GitRemote } from "./url.js";

export interface CheckoutRequest {
  mirror: string;
  remote: GitRemote;
  access: RemoteAccess;
  commit: string;
  dest: string;
  keepGitDir: boolean;
  signal?: AbortSignal;
  /** Wraps the one step that talks to servers (`git submodule update`), so the caller can report it. */
  networkPhase?: <T>(fn: () => Promise<T>) => Promise<T>;
}

export async function checkoutCommit(req: CheckoutRequest): Promise<void> {
  const { mirror, commit, dest } = req;
  if (!req.keepGitDir) {
    const env = { GIT_INDEX_FILE: join(dest, ".lading-index") };
    const fail = (r: GitResult) => new LadingError("INTERNAL", `checking out ${commit} of ${req.remote.url}: ${r.stderr.trim()}`);
    let r = await runGit(["--git-dir", mirror, "read-tree", commit], { env, signal: req.signal });
    if (r.code !== 0) throw fail(r);
    r = await runGit(["--git-dir", mirror, "--work-tree", dest, "checkout-index", "--all", "--force"], { env, signal: req.signal });
    if (r.code !== 0) throw fail(r);
    await rm(env.GIT_INDEX_FILE, { force: true });
    return;
  }
  const inRepo = (args: string[], network = false) =>
    runGit(["-C", dest, ...args], network ? { config: req.access.config, env: req.access.env, redact: req.access.redact, signal: req.signal } : { signal: req.signal });
  const steps: Array<[string[], boolean]> = [
    [["init", "--quiet"], false],
    [["remote", "add", "origin", req.remote.url], false],
    // From the mirror, by path: a local copy, no request to the server.
    [["fetch", "--quiet", "--no-tags", mirror, commit], false],
    [["-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", commit], false],
  ];
  const submodules = (await runGit(["--git-dir", mirror, "cat-file", "-e", `${commit}:.gitmodules`])).code === 0;
  if (submodules) steps.push([["-c", "protocol.file.allow=user", "submodule", "update", "--quiet", "--init", "--recursive"], true]);
  for (const [args, network] of steps) {
    const r = network && req.networkPhase ? await req.networkPhase(() => inRepo(args, network)) : await inRepo(args, network);
    if (r.code !== 0) {
      if (network) throw remoteError(`git submodule update (in ${req.remote.url} at ${commit})`, req.remote, req.access, r);
      throw new LadingError("INTERNAL", `checking out ${commit} of ${req.remote.url}: git ${args[0]}: ${r.stderr.trim()}`);
    }
  }
}
