/**
 * A git source as docker writes it (`https://host/repo.git#ref:subdir`,
 * `git@host:repo.git#ref`): for `ADD`, a git build context and
 * `--build-context name=<git url>`. No ref means the remote's HEAD; the
 * ref is looked up as `git fetch` would (branch, tag, full ref or commit).
 */
import { parseGitSource, type Client, type Directory } from "../../index.js";

export function gitSourceDirectory(client: Client, source: string, opts: { keepGitDir?: boolean } = {}): Directory {
  const spec = parseGitSource(source);
  const repo = client.git(spec.url, { keepGitDir: opts.keepGitDir ?? false });
  const tree = (spec.ref ? repo.ref(spec.ref) : repo.head()).tree();
  return spec.subdir ? tree.directory(spec.subdir) : tree;
}
