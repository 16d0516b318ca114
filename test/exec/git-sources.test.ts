/**
 * Git sources where the user matters (run as root, and in CI again as an
 * unprivileged user): the mirror in that user's store, a checkout whose
 * modes do not follow the umask, a script of mode 0755 run in a
 * container, and the same for a repository reached over ssh (an sshd
 * that user runs, with git-shell and an agent).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "../../src/index.js";
import { makeBusyboxLayout, type TestImage } from "../helpers/images.js";
import { tempDir } from "../helpers/tmp.js";
import { startGitServer, type GitServer } from "../helpers/git-server.js";
import { makeAppRepos, type AppRepos } from "../helpers/git-fixtures.js";
import { startSshServer, type SshServer } from "../helpers/sshd.js";

const PASS = "pw-rootless-3c9d";
const t = tempDir("lading-git-exec-");
let server: GitServer;
let sshd: SshServer;
let repos: AppRepos;
let busybox: TestImage;

before(async () => {
  busybox = await makeBusyboxLayout(join(t.path, "busybox"));
  server = await startGitServer({ users: [{ user: "carol", pass: PASS }] });
  repos = makeAppRepos(server, t.path);
  sshd = await startSshServer();
  const creds = join(t.path, "git-credentials");
  writeFileSync(creds, `http://carol:${PASS}@${server.host}\n`, { mode: 0o600 });
  const gitconfig = join(t.path, "gitconfig");
  writeFileSync(gitconfig, `[credential]\n\thelper = store --file=${creds}\n`);
  process.env.GIT_CONFIG_GLOBAL = gitconfig;
  process.env.GIT_CONFIG_NOSYSTEM = "1";
});
after(async () => {
  await sshd?.stop();
  await server?.stop();
  t.cleanup();
});

test("a tree over http with a credential helper, under a strict umask, runs in a container: modes and symlink kept", async () => {
  const saved = process.umask(0o077);
  try {
    await connect(
      async (client) => {
        const src = client.git(repos.url).tag("v1.1.0").tree();
        const out = await client
          .container()
          .from(busybox.ref)
          .withDirectory("/src", src)
          .withExec(["sh", "-c", "/src/bin/run.sh && stat -c '%a %n' /src/README.md /src/bin/run.sh /src/vendor/sub/lib.txt && readlink /src/link && cat /src/vendor/sub/lib.txt"])
          .stdout();
        assert.equal(out, "run\n644 /src/README.md\n755 /src/bin/run.sh\n644 /src/vendor/sub/lib.txt\nREADME.md\nfrom the submodule\n");
      },
      { store: join(t.path, "store") },
    );
  } finally {
    process.umask(saved);
  }
});

test("a tree over ssh (key in the agent) gives the same digest as over http", async () => {
  const bare = join(server.repos, "app.git");
  await connect(
    async (client) => {
      const overSsh = client.git(sshd.url(bare), { sshAuthSocket: sshd.agentSocket, sshKnownHosts: sshd.knownHosts }).commit(repos.main).tree();
      const overHttp = client.git(repos.url).commit(repos.main).tree();
      assert.equal(await overSsh.digest(), await overHttp.digest());
      assert.equal(await client.container().from(busybox.ref).withDirectory("/s", overSsh).withExec(["cat", "/s/README.md"]).stdout(), "# app, second\n");
    },
    { store: join(t.path, "store-ssh") },
  );
});
