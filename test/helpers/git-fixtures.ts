/**
 * The repositories git source tests build from, made on a test git server:
 * `sub` (one file), and `app` with a script of mode 0755, a symlink, a
 * nested directory, `sub` as a submodule at vendor/sub (relative URL, so
 * it is fetched from the same server with the same credentials), an
 * annotated tag v1.0.0, a lightweight tag v1.1.0 and a branch `release`.
 */
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gitIn, makeBareRepo, type GitServer } from "./git-server.js";

export interface AppRepos {
  url: string;
  subUrl: string;
  /** Commits: main's first (tagged v1.0.0), main's tip (v1.1.0), release's tip. */
  first: string;
  main: string;
  release: string;
  /** A work tree of app, to make more commits in (then `push()`). */
  work: string;
  push(branch?: string): string;
}

export function makeAppRepos(server: GitServer, scratch: string): AppRepos {
  const subBare = makeBareRepo(server, "sub");
  const sub = join(scratch, "sub-work");
  mkdirSync(sub);
  gitIn(sub, ["init", "--quiet", "--initial-branch=main"]);
  writeFileSync(join(sub, "lib.txt"), "from the submodule\n");
  gitIn(sub, ["add", "."]);
  gitIn(sub, ["commit", "--quiet", "-m", "sub"]);
  gitIn(sub, ["push", "--quiet", subBare, "main"]);

  const appBare = makeBareRepo(server, "app");
  const work = join(scratch, "app-work");
  mkdirSync(work);
  gitIn(work, ["init", "--quiet", "--initial-branch=main"]);
  writeFileSync(join(work, "README.md"), "# app\n");
  mkdirSync(join(work, "bin"));
  writeFileSync(join(work, "bin", "run.sh"), "#!/bin/sh\necho run\n");
  chmodSync(join(work, "bin", "run.sh"), 0o755);
  symlinkSync("README.md", join(work, "link"));
  mkdirSync(join(work, "dir", "deeper"), { recursive: true });
  writeFileSync(join(work, "dir", "deeper", "nested.txt"), "nested\n");
  gitIn(work, ["add", "."]);
  gitIn(work, ["commit", "--quiet", "-m", "first"]);
  gitIn(work, ["tag", "-a", "v1.0.0", "-m", "one"]);
  const first = gitIn(work, ["rev-parse", "HEAD"]);
  // A submodule by relative URL: resolved against the remote's own URL when checked out.
  gitIn(work, ["-c", "protocol.file.allow=always", "submodule", "add", "--quiet", subBare, "vendor/sub"]);
  gitIn(work, ["config", "-f", ".gitmodules", "submodule.vendor/sub.url", "../sub.git"]);
  gitIn(work, ["add", ".gitmodules"]);
  writeFileSync(join(work, "README.md"), "# app, second\n");
  gitIn(work, ["commit", "--quiet", "-am", "second"]);
  gitIn(work, ["tag", "v1.1.0"]);
  const main = gitIn(work, ["rev-parse", "HEAD"]);
  gitIn(work, ["checkout", "--quiet", "-b", "release", first]);
  writeFileSync(join(work, "RELEASE"), "r\n");
  gitIn(work, ["add", "RELEASE"]);
  gitIn(work, ["commit", "--quiet", "-m", "release"]);
  const release = gitIn(work, ["rev-parse", "HEAD"]);
  gitIn(work, ["checkout", "--quiet", "main"]);
  gitIn(work, ["push", "--quiet", "--tags", appBare, "main", "release"]);
  return {
    url: `${server.base}/app.git`,
    subUrl: `${server.base}/sub.git`,
    first,
    main,
    release,
    work,
    push(branch = "main") {
      gitIn(work, ["push", "--quiet", "--force", appBare, branch]);
      return gitIn(work, ["rev-parse", branch]);
    },
  };
}
