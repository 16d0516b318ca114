/**
 * The scp-like address `user@host:path#ref` as a `lading build` context,
 * over ssh as a user reaches it: the test sshd listens on a loopback port,
 * which scp syntax cannot carry, so an ssh config names it under a host
 * alias and GIT_SSH_COMMAND hands that config to git (lading keeps the
 * user's own ssh command). An unknown host key is still refused (AUTH),
 * and the CLI does not point at `lading login`, which is for registries.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, LadingError } from "../../src/index.js";
import { lading } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { startSshServer, type SshServer } from "../helpers/sshd.js";
import { gitIn } from "../helpers/git-server.js";
import { userEnv } from "./user-env.js";

const t = tempDir("lading-git-ssh-cli-");
const user = userEnv(t.path);
let sshd: SshServer;
let bare: string;

before(async () => {
  sshd = await startSshServer();
  bare = join(t.path, "repo.git");
  const work = join(t.path, "work");
  mkdirSync(work);
  gitIn(work, ["init", "--quiet", "--initial-branch=main"]);
  writeFileSync(join(work, "Containerfile"), "FROM scratch\nCOPY . /ctx/\n");
  writeFileSync(join(work, "hello.txt"), "over ssh, by alias\n");
  gitIn(work, ["add", "."]);
  gitIn(work, ["commit", "--quiet", "-m", "one"]);
  gitIn(work, ["branch", "feature"]);
  writeFileSync(join(work, "hello.txt"), "on main\n");
  gitIn(work, ["commit", "--quiet", "-am", "two"]);
  gitIn(t.path, ["init", "--quiet", "--bare", "--initial-branch=main", bare]);
  gitIn(work, ["push", "--quiet", bare, "main", "feature"]);
});
after(async () => {
  await sshd?.stop();
  t.cleanup();
});

/** A user's ssh config naming the test sshd `lading-git-test`, with its host key in `knownHosts` (the contents of that file). */
function sshConfig(name: string, knownHosts: string): string {
  const kh = join(t.path, `${name}.known_hosts`);
  writeFileSync(kh, knownHosts, { mode: 0o600 });
  const cfg = join(t.path, `${name}.ssh_config`);
  writeFileSync(
    cfg,
    ["Host lading-git-test", "  HostName 127.0.0.1", `  Port ${sshd.port}`, `  UserKnownHostsFile ${kh}`, "  GlobalKnownHostsFile /dev/null", "  StrictHostKeyChecking yes", "  BatchMode yes", ""].join("\n"),
  );
  return cfg;
}

async function build(name: string, knownHosts: string) {
  const out = join(t.path, `${name}.tar`);
  const env = { ...user.env, GIT_CONFIG_GLOBAL: undefined, GIT_CONFIG_NOSYSTEM: "1", LADING_HOME: join(t.path, `store-${name}`), SSH_AUTH_SOCK: sshd.agentSocket, GIT_SSH_COMMAND: `ssh -F ${sshConfig(name, knownHosts)}` };
  // scp-like: the login user, the alias, the repository's absolute path, the branch.
  const r = await lading(["build", "--lock", "off", "-o", out, `${sshd.user}@lading-git-test:${bare}#feature`], { env, cwd: t.path });
  return { r, out };
}

test("user@alias:path#branch as the build context, the alias from the user's ssh config via GIT_SSH_COMMAND", async () => {
  const { r, out } = await build("known", sshd.knownHosts);
  assert.equal(r.code, 0, r.stderr);
  const read = (p: string) => connect((c) => c.container().from(`oci-archive:${out}`).file(p).contents(), { store: join(t.path, "reader") });
  assert.equal(await read("/ctx/hello.txt"), "over ssh, by alias\n", "the branch's files, not main's");
  assert.equal(await read("/ctx/Containerfile"), "FROM scratch\nCOPY . /ctx/\n");
});

test("the same address with the host key unknown to the user's known_hosts: refused (AUTH), with no registry login hint", async () => {
  const { r } = await build("unknown", "");
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^lading: git ls-remote \S+@lading-git-test:\S+: the ssh host key of lading-git-test is not a known one/);
  assert.doesNotMatch(r.stderr, /lading login/, "a git source's login is not a registry's: no `lading login` hint");
});

test("client.git(user@alias:path) through the API, with the same ssh config: the branch's commit, and AUTH for an unknown host key", async () => {
  const saved = { cmd: process.env.GIT_SSH_COMMAND, sock: process.env.SSH_AUTH_SOCK };
  process.env.SSH_AUTH_SOCK = sshd.agentSocket;
  try {
    const address = `${sshd.user}@lading-git-test:${bare}`;
    process.env.GIT_SSH_COMMAND = `ssh -F ${sshConfig("api-known", sshd.knownHosts)}`;
    await connect(async (c) => assert.equal(await c.git(address).branch("feature").tree().file("hello.txt").contents(), "over ssh, by alias\n"), { store: join(t.path, "api-1") });
    process.env.GIT_SSH_COMMAND = `ssh -F ${sshConfig("api-unknown", "")}`;
    const err = await connect((c) => c.git(address).branch("feature").commit(), { store: join(t.path, "api-2") }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof LadingError, String(err));
    assert.equal(err.code, "AUTH");
  } finally {
    for (const [k, v] of [["GIT_SSH_COMMAND", saved.cmd], ["SSH_AUTH_SOCK", saved.sock]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});
