/**
 * Git over ssh against a real sshd on 127.0.0.1 (git-shell only), with
 * the key in an ssh-agent: host keys are checked, an unknown one is
 * refused with a clear AUTH error, and nothing ever prompts.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { connect, LadingError } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";
import { startSshServer, type SshServer } from "../helpers/sshd.js";
import { gitIn } from "../helpers/git-server.js";
import { mkdirSync, writeFileSync } from "node:fs";

const t = tempDir("lading-git-ssh-");
let sshd: SshServer;
let url: string;
let commit: string;

before(async () => {
  sshd = await startSshServer();
  const bare = join(t.path, "repo.git");
  const work = join(t.path, "work");
  mkdirSync(work);
  gitIn(work, ["init", "--quiet", "--initial-branch=main"]);
  writeFileSync(join(work, "hello.txt"), "over ssh\n");
  gitIn(work, ["add", "."]);
  gitIn(work, ["commit", "--quiet", "-m", "one"]);
  gitIn(t.path, ["init", "--quiet", "--bare", "--initial-branch=main", bare]);
  gitIn(work, ["push", "--quiet", bare, "main"]);
  commit = gitIn(work, ["rev-parse", "HEAD"]);
  url = sshd.url(bare);
});
after(async () => {
  await sshd?.stop();
  t.cleanup();
});

test("an ssh URL with the key in the agent and the host key given: the files of the branch", async () => {
  await connect(
    async (client) => {
      const repo = client.git(url, { sshAuthSocket: sshd.agentSocket, sshKnownHosts: sshd.knownHosts });
      assert.equal(await repo.branch("main").commit(), commit);
      assert.equal(await repo.branch("main").tree().file("hello.txt").contents(), "over ssh\n");
    },
    { store: join(t.path, "s1") },
  );
});

test("SSH_AUTH_SOCK is the agent by default", async () => {
  const saved = process.env.SSH_AUTH_SOCK;
  process.env.SSH_AUTH_SOCK = sshd.agentSocket;
  try {
    await connect(async (client) => assert.equal(await client.git(url, { sshKnownHosts: sshd.knownHosts }).head().commit(), commit), { store: join(t.path, "s2") });
  } finally {
    if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
    else process.env.SSH_AUTH_SOCK = saved;
  }
});

test("an unknown host key is refused with a clear AUTH error", async () => {
  await connect(
    async (client) => {
      const err = await client.git(url, { sshAuthSocket: sshd.agentSocket }).branch("main").commit().then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof LadingError, String(err));
      assert.equal(err.code, "AUTH");
      assert.match(err.message, /host key of 127\.0\.0\.1:\d+ is not a known one/);
      // A known_hosts line for another key of that host: refused too.
      const other = sshd.knownHosts.replace(/ssh-ed25519 \S+/, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl");
      const err2 = await client.git(url, { sshAuthSocket: sshd.agentSocket, sshKnownHosts: other }).branch("main").commit().then(() => undefined, (e: unknown) => e);
      assert.ok(err2 instanceof LadingError && err2.code === "AUTH", String(err2));
      assert.match(err2.message, /host key/);
    },
    { store: join(t.path, "s3") },
  );
});

test("an agent without the key: the login is refused, at once", async () => {
  await connect(
    async (client) => {
      const err = await client.git(url, { sshAuthSocket: sshd.emptyAgentSocket, sshKnownHosts: sshd.knownHosts }).branch("main").commit().then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof LadingError, String(err));
      assert.equal(err.code, "AUTH");
      assert.match(err.message, /refused the ssh login/);
    },
    { store: join(t.path, "s4") },
  );
});
