/**
 * Git sources over smart http, against a real server (lighttpd + git
 * http-backend, basic auth) on 127.0.0.1, reached through the user's own
 * credential helpers as `git clone` would reach it: credential-store with
 * a file, the cache daemon, a `!f() {…}` shell helper, a
 * git-credential-<name> program on PATH, a per-URL helper; a helper with
 * wrong credentials (git tells it to erase them) and no helper at all
 * (an AUTH error, at once). The secrets are then looked for everywhere
 * lading could have put them.
 */
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, LadingError, type Client, type ConnectOpts, type ProgressEvent } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";
import { startGitServer, type GitServer } from "../helpers/git-server.js";
import { makeAppRepos, type AppRepos } from "../helpers/git-fixtures.js";

const USER = "alice";
const PASS = "pw-7f3a9c1e-do-not-leak";
const TOKEN = "tok-51d2e8b4-do-not-leak";

const t = tempDir("lading-git-http-");
let server: GitServer;
let repos: AppRepos;
let n = 0;

before(async () => {
  server = await startGitServer({ users: [{ user: USER, pass: PASS }, { user: "x-access-token", pass: TOKEN }] });
  repos = makeAppRepos(server, t.path);
});
after(async () => {
  await server?.stop();
  t.cleanup();
});

/** A fresh dir, and a fresh git global config holding `config` (key, value) pairs, made the one lading's git reads. */
function freshSetup(config: Array<[string, string]>): { dir: string; gitconfig: string } {
  const dir = join(t.path, `case-${++n}`);
  mkdirSync(dir);
  const gitconfig = join(dir, "gitconfig");
  writeFileSync(gitconfig, "");
  for (const [k, v] of config) execFileSync("git", ["config", "--file", gitconfig, "--add", k, v]);
  process.env.GIT_CONFIG_GLOBAL = gitconfig;
  process.env.GIT_CONFIG_NOSYSTEM = "1";
  return { dir, gitconfig };
}

async function withClient<T>(store: string, fn: (c: Client) => Promise<T>, opts: ConnectOpts = {}): Promise<T> {
  return connect(fn, { store, ...opts });
}

function storeFile(dir: string, creds = `http://${USER}:${PASS}@${server.host}`): string {
  const f = join(dir, "git-credentials");
  writeFileSync(f, creds + "\n", { mode: 0o600 });
  return f;
}

/** Every file under `dir` whose bytes contain one of `needles`. */
function filesContaining(dir: string, needles: string[]): string[] {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const s = lstatSync(p);
      if (s.isDirectory()) walk(p);
      else if (s.isFile()) {
        const data = readFileSync(p);
        if (needles.some((x) => data.includes(x))) hits.push(p);
      }
    }
  };
  walk(dir);
  return hits;
}

test("a branch through credential-store: files, modes, symlink, submodule, no .git; tags, branches, commit", async () => {
  const { dir } = freshSetup([["credential.helper", `store --file=${storeFile(join(t.path))}`]]);
  await withClient(join(dir, "store"), async (client) => {
    const repo = client.git(repos.url);
    assert.equal(await repo.branch("main").commit(), repos.main);
    assert.equal(await repo.head().commit(), repos.main);
    assert.equal(await repo.tag("v1.0.0").commit(), repos.first, "an annotated tag gives its commit");
    assert.equal(await repo.ref("release").commit(), repos.release);
    assert.deepEqual(await repo.tags(), ["v1.0.0", "v1.1.0"]);
    assert.deepEqual(await repo.tags({ patterns: ["v1.1*"] }), ["v1.1.0"]);
    assert.deepEqual(await repo.branches(), ["main", "release"]);

    const tree = repo.branch("main").tree();
    assert.equal(await tree.file("README.md").contents(), "# app, second\n");
    assert.equal(await tree.file("vendor/sub/lib.txt").contents(), "from the submodule\n");
    assert.equal(await tree.exists(".git"), false);
    assert.equal(await tree.exists("vendor/sub/.git"), false);
    const out = join(dir, "export");
    await tree.export(out);
    assert.equal(statSync(join(out, "bin", "run.sh")).mode & 0o777, 0o755);
    assert.equal(statSync(join(out, "README.md")).mode & 0o777, 0o644);
    assert.equal(readlinkSync(join(out, "link")), "README.md");
    assert.equal(readFileSync(join(out, "dir", "deeper", "nested.txt"), "utf8"), "nested\n");
    // The commit's own time, not the checkout's.
    assert.equal(statSync(join(out, "README.md")).mtime.toISOString(), "2024-01-02T03:04:05.000Z");

    const old = client.git(repos.url).commit(repos.release).tree();
    assert.equal(await old.file("RELEASE").contents(), "r\n");
    assert.equal(await old.exists("vendor"), false);
  });
});

test("the same commit gives the same tree digest and image digest in two stores; keepGitDir keeps a working .git", async () => {
  const { dir } = freshSetup([["credential.helper", `store --file=${storeFile(join(t.path))}`]]);
  const digests = [];
  for (const s of ["s1", "s2"]) {
    digests.push(
      await withClient(join(dir, s), async (client) => {
        const tree = client.git(repos.url).tag("v1.1.0").tree();
        return [await tree.digest(), await client.container().withDirectory("/src", tree).digest()];
      }),
    );
  }
  assert.match(digests[0]![0]!, /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(digests[0], digests[1]);

  await withClient(join(dir, "s1"), async (client) => {
    const kept = client.git(repos.url, { keepGitDir: true }).branch("main");
    const out = join(dir, "kept");
    await kept.tree().export(out);
    assert.equal(execFileSync("git", ["-C", out, "rev-parse", "HEAD"], { encoding: "utf8" }).trim(), repos.main);
    assert.equal(execFileSync("git", ["-C", out, "config", "remote.origin.url"], { encoding: "utf8" }).trim(), repos.url);
    assert.equal(readFileSync(join(out, "vendor", "sub", "lib.txt"), "utf8"), "from the submodule\n");
    assert.equal(await kept.tree({ discardGitDir: true }).exists(".git"), false);
    assert.equal(await kept.tree({ discardGitDir: true }).digest(), await client.git(repos.url).branch("main").tree().digest());
  });
});

test("the cache helper, filled by git's approve after the store helper answered, then alone", async () => {
  const { dir } = freshSetup([]);
  // The cache daemon wants its socket's folder private.
  mkdirSync(join(dir, "cache"), { mode: 0o700 });
  const socket = join(dir, "cache", "sock");
  const creds = storeFile(dir);
  process.env.GIT_CONFIG_GLOBAL = join(dir, "gitconfig");
  execFileSync("git", ["config", "--file", join(dir, "gitconfig"), "--add", "credential.helper", `cache --socket=${socket}`]);
  execFileSync("git", ["config", "--file", join(dir, "gitconfig"), "--add", "credential.helper", `store --file=${creds}`]);
  try {
    await withClient(join(dir, "s1"), async (client) => assert.equal(await client.git(repos.url).branch("release").commit(), repos.release));
    // Only the cache daemon knows the password now.
    writeFileSync(creds, "");
    await withClient(join(dir, "s2"), async (client) => assert.equal(await client.git(repos.url).branch("main").tree().file("README.md").contents(), "# app, second\n"));
  } finally {
    if (existsSync(socket)) execFileSync("git", ["credential-cache", `--socket=${socket}`, "exit"], { env: { ...process.env } });
  }
});

test("a shell helper, a git-credential-<name> program on PATH, a per-URL helper", async () => {
  const bin = join(t.path, "bin");
  mkdirSync(bin, { recursive: true });
  const prog = join(bin, "git-credential-lading-test");
  writeFileSync(prog, `#!/bin/sh\n[ "$1" = get ] || exit 0\necho username=${USER}\necho password=${PASS}\n`);
  chmodSync(prog, 0o755);
  const savedPath = process.env.PATH;
  process.env.PATH = `${bin}:${savedPath}`;
  try {
    const cases: Array<Array<[string, string]>> = [
      [["credential.helper", `!f() { test "$1" = get && echo username=${USER} && echo password=${PASS}; }; f`]],
      [["credential.helper", "lading-test"]],
      [[`credential.http://${server.host}.helper`, "lading-test"]],
    ];
    for (const config of cases) {
      const { dir } = freshSetup(config);
      await withClient(join(dir, "store"), async (client) => {
        assert.equal(await client.git(repos.url).branch("main").tree().file("bin/run.sh").contents(), "#!/bin/sh\necho run\n", JSON.stringify(config[0]![0]));
      });
    }
    // A per-URL helper for another host is not asked.
    const { dir } = freshSetup([["credential.http://127.0.0.2.helper", "lading-test"]]);
    await withClient(join(dir, "store"), async (client) => {
      await assert.rejects(client.git(repos.url).branch("main").commit(), (err: LadingError) => err.code === "AUTH");
    });
  } finally {
    process.env.PATH = savedPath;
  }
});

test("wrong credentials: git tells the helper to erase them, and the AUTH error names the host and the helper, not the password", async () => {
  const bin = join(t.path, "bin-wrong");
  mkdirSync(bin);
  const actions = join(bin, "actions.log");
  const prog = join(bin, "git-credential-wrong");
  writeFileSync(prog, `#!/bin/sh\necho "$1" >> ${actions}\ncat > /dev/null\n[ "$1" = get ] && echo username=${USER} && echo password=wrong-${PASS}\nexit 0\n`);
  chmodSync(prog, 0o755);
  const savedPath = process.env.PATH;
  process.env.PATH = `${bin}:${savedPath}`;
  try {
    const { dir } = freshSetup([["credential.helper", "wrong"]]);
    await withClient(join(dir, "store"), async (client) => {
      const err = await client.git(repos.url).branch("main").commit().then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof LadingError, String(err));
      assert.equal(err.code, "AUTH");
      assert.match(err.message, new RegExp(server.host.replace(/\./g, "\\.")));
      assert.match(err.message, /wrong/);
      assert.ok(!err.message.includes(PASS), err.message);
    });
    assert.deepEqual(readFileSync(actions, "utf8").trim().split("\n"), ["get", "erase"]);
  } finally {
    process.env.PATH = savedPath;
  }
});

test("no helper, or one that would prompt: an AUTH error at once (no prompt, no hang), naming the host and what was tried", async () => {
  const { dir } = freshSetup([]);
  await withClient(join(dir, "store"), async (client) => {
    const err = await client.git(repos.url).branch("main").tree().entries().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof LadingError, String(err));
    assert.equal(err.code, "AUTH");
    assert.match(err.message, new RegExp(`${server.host.replace(/\./g, "\\.")} asked for credentials`));
    assert.match(err.message, /no credential helper/);
  });
  // A helper that would ask a person (reads the terminal): lading's git has none, so it fails at once.
  const { dir: dir2 } = freshSetup([["credential.helper", "!f() { read -r answer < /dev/tty; echo password=$answer; }; f"]]);
  await withClient(join(dir2, "store"), async (client) => {
    const err = await client.git(repos.url).branch("main").commit().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof LadingError && err.code === "AUTH", String(err));
    assert.match(err.message, /a shell helper \(!…\)/);
    assert.ok(!err.message.includes("echo password="), "a shell helper's text is never quoted (it may hold a secret)");
  });
});

test("an explicit token comes first; credentials in the URL are used; no secret lands in the store, events, errors or any /proc cmdline", async () => {
  const { dir } = freshSetup([]);
  const events: ProgressEvent[] = [];
  const cmdlineHits: string[] = [];
  const needles = [PASS, TOKEN, Buffer.from(`x-access-token:${TOKEN}`).toString("base64"), Buffer.from(`${USER}:${PASS}`).toString("base64")];
  let watching = true;
  // Every process's argv, read while the fetches run (other users can read these).
  const watcher = (async () => {
    while (watching) {
      for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
        try {
          const cmd = readFileSync(`/proc/${pid}/cmdline`);
          if (needles.some((x) => cmd.includes(x))) cmdlineHits.push(cmd.toString().replace(/\0/g, " "));
        } catch {
          // gone already
        }
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const store = join(dir, "store");
  try {
    await withClient(
      store,
      async (client) => {
        const token = client.setSecret("gittoken", TOKEN);
        const viaToken = client.git(repos.url, { httpAuthToken: token, keepGitDir: true }).branch("main").tree();
        assert.equal(await viaToken.file("vendor/sub/lib.txt").contents(), "from the submodule\n");
        await viaToken.export(join(dir, "out-token"));
        const inUrl = repos.url.replace("http://", `http://${USER}:${PASS}@`);
        const viaUrl = client.git(inUrl).branch("release");
        assert.equal(await viaUrl.commit(), repos.release);
        await client.container().withDirectory("/src", viaUrl.tree()).export(join(dir, "image.tar"));
        // A wrong token: refused, and the error does not quote it.
        const bad = client.setSecret("bad", `bad-${TOKEN}`);
        const err = await client.git(`${server.base}/sub.git`, { httpAuthToken: bad }).head().commit().then(() => undefined, (e: unknown) => e);
        assert.ok(err instanceof LadingError && err.code === "AUTH", String(err));
        assert.match(err.message, /httpAuthToken/);
        assert.ok(!needles.some((x) => err.message.includes(x)) && !err.message.includes(`bad-${TOKEN}`), err.message);
        assert.ok(!String(err.stack).includes(TOKEN));
        for (const s of client.sources()) assert.ok(!needles.some((x) => s.source.includes(x)), s.source);
      },
      { log: (e) => events.push(e) },
    );
  } finally {
    watching = false;
    await watcher;
  }
  assert.deepEqual(cmdlineHits, []);
  assert.deepEqual(filesContaining(store, needles), []);
  assert.deepEqual(filesContaining(join(dir, "out-token"), needles), [], "the kept .git has no credentials");
  assert.deepEqual(filesContaining(dir, [USER + ":" + PASS]).filter((f) => !f.endsWith("gitconfig")), []);
  const text = JSON.stringify(events);
  assert.ok(events.some((e) => e.type === "step" && e.name.startsWith(`git ${repos.url}`)), text.slice(0, 500));
  assert.ok(!needles.some((x) => text.includes(x)) && !text.includes(USER + ":"), "no secret in progress or debug events");
});
