/**
 * Git sources from the command line, as a user with a private repository
 * meets them: `git config --global credential.helper store` and a
 * ~/.git-credentials, the same set-up `git clone` uses, then a git URL as
 * the build context, in `ADD` (with --keep-git-dir) and as a named
 * `--build-context`. Pins: lading.lock records each git source's commit;
 * after the branch moves, a frozen build keeps the old commit and sends
 * the server no request at all (counted in its access log).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "../../src/index.js";
import { lading } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { gitIn, startGitServer, type GitServer } from "../helpers/git-server.js";
import { makeAppRepos, type AppRepos } from "../helpers/git-fixtures.js";
import { userEnv } from "./user-env.js";

const PASS = "pw-0b7e55aa-cli-secret";
const t = tempDir("lading-git-cli-");
const user = userEnv(t.path);
const env = { ...user.env, GIT_CONFIG_GLOBAL: undefined, GIT_CONFIG_NOSYSTEM: "1", LADING_HOME: join(t.path, "store") };
let server: GitServer;
let repos: AppRepos;

before(async () => {
  server = await startGitServer({ users: [{ user: "bob", pass: PASS }] });
  repos = makeAppRepos(server, t.path);
  // The user's own git set-up, as for `git clone`.
  execFileSync("git", ["config", "--global", "credential.helper", "store"], { env: { ...process.env, ...env, HOME: user.home } as NodeJS.ProcessEnv });
  writeFileSync(join(user.home, ".git-credentials"), `http://bob:${PASS}@${server.host}\n`, { mode: 0o600 });
  // A Containerfile inside the repository, under docker/.
  mkdirSync(join(repos.work, "docker"));
  writeFileSync(join(repos.work, "docker", "Containerfile"), "FROM scratch\nCOPY . /ctx/\n");
  gitIn(repos.work, ["add", "docker"]);
  gitIn(repos.work, ["commit", "--quiet", "-m", "containerfile"]);
  repos.main = repos.push("main");
});
after(async () => {
  await server?.stop();
  t.cleanup();
});

/** A file's text in an image archive, read back through the API. */
async function fileIn(archive: string, path: string): Promise<string> {
  return connect((c) => c.container().from(`oci-archive:${archive}`).file(path).contents(), { store: join(t.path, "reader") });
}

async function existsIn(archive: string, path: string): Promise<boolean> {
  return connect((c) => c.container().from(`oci-archive:${archive}`).rootfs().exists(path), { store: join(t.path, "reader") });
}

test("git clone and lading build take the same set-up: a git URL with #ref:subdir as the build context", async () => {
  execFileSync("git", ["clone", "--quiet", repos.url, join(t.path, "cloned")], { env: { ...process.env, ...env, HOME: user.home, GIT_TERMINAL_PROMPT: "0" } as NodeJS.ProcessEnv });
  const out = join(t.path, "ctx.tar");
  const r = await lading(["build", "--lock", "off", "--progress", "plain", "-o", out, `${repos.url}#main:docker`], { env: { ...env, LADING_DEBUG: "1" }, cwd: t.path });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await fileIn(out, "/ctx/Containerfile"), "FROM scratch\nCOPY . /ctx/\n");
  assert.equal(await existsIn(out, "/ctx/README.md"), false, "only the subdir is the context");
  assert.match(r.stderr, /git ls-remote/, "debug lines are on");
  assert.ok(!r.stderr.includes(PASS) && !r.stdout.includes(PASS), "no secret in progress or debug output");
});

test("ADD of a git repository (and --keep-git-dir), and a git URL as a named --build-context", async () => {
  const dir = join(t.path, "add");
  mkdirSync(dir);
  writeFileSync(
    join(dir, "Containerfile"),
    `FROM scratch\nADD ${repos.url}#v1.0.0 /src/\nADD --keep-git-dir ${repos.url}#release /kept/\nCOPY --from=docs RELEASE /from-docs/RELEASE\n`,
  );
  const out = join(dir, "img.tar");
  const r = await lading(["build", "--lock", "off", "--build-context", `docs=${repos.url}#release`, "-o", out, dir], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await fileIn(out, "/src/README.md"), "# app\n");
  assert.equal(await existsIn(out, "/src/.git"), false);
  assert.equal(await fileIn(out, "/kept/RELEASE"), "r\n");
  assert.equal(await existsIn(out, "/kept/.git/HEAD"), true);
  assert.equal(await fileIn(out, "/from-docs/RELEASE"), "r\n");
});

test("lading.lock pins a git source to its commit; after the branch moves, --lock=frozen builds the old commit with zero requests", async () => {
  const dir = join(t.path, "pinned");
  mkdirSync(dir);
  writeFileSync(join(dir, "Containerfile"), `FROM scratch\nADD ${repos.url}#main /src/\n`);
  const first = await lading(["build", "-o", join(dir, "a.tar"), dir], { env });
  assert.equal(first.code, 0, first.stderr);
  const lock = JSON.parse(readFileSync(join(dir, "lading.lock"), "utf8"));
  assert.deepEqual(lock.sources, { [`${repos.url}#main`]: repos.main });

  // The branch moves upstream.
  writeFileSync(join(repos.work, "README.md"), "# app, moved\n");
  gitIn(repos.work, ["commit", "--quiet", "-am", "moved"]);
  const moved = repos.push("main");
  assert.notEqual(moved, repos.main);

  const before = (await server.accessLog()).length;
  assert.ok(before > 0, "the access log counts the first build's requests");
  const frozen = await lading(["build", "--lock", "frozen", "-o", join(dir, "b.tar"), dir], { env });
  assert.equal(frozen.code, 0, frozen.stderr);
  assert.equal((await server.accessLog()).length, before, "a frozen build of a pinned commit in the store asks the server nothing");
  assert.equal(await fileIn(join(dir, "b.tar"), "/src/README.md"), "# app, second\n");

  const updated = await lading(["build", "--lock", "update", "-o", join(dir, "c.tar"), dir], { env });
  assert.equal(updated.code, 0, updated.stderr);
  assert.ok((await server.accessLog()).length > before, "--lock=update asks the server again");
  assert.equal(await fileIn(join(dir, "c.tar"), "/src/README.md"), "# app, moved\n");
  assert.deepEqual(JSON.parse(readFileSync(join(dir, "lading.lock"), "utf8")).sources, { [`${repos.url}#main`]: moved });
  assert.ok(!readFileSync(join(dir, "lading.lock"), "utf8").includes(PASS));

  // Frozen, with a source the lock does not pin: refused before any request.
  writeFileSync(join(dir, "Containerfile"), `FROM scratch\nADD ${repos.url}#release /src/\n`);
  const unpinned = await lading(["build", "--lock", "frozen", "-o", join(dir, "d.tar"), dir], { env });
  assert.notEqual(unpinned.code, 0);
  assert.match(unpinned.stderr, /no pin in the lock file/);
});

test("git mirrors in the store: lading df shows them, prune (until=, default, --all) removes them, the next build fetches again", async () => {
  const dir = join(t.path, "mirrors");
  mkdirSync(dir);
  const storeEnv = { ...env, LADING_HOME: join(dir, "store"), LADING_GC: "off" };
  const mirrors = () => readdirSync(join(dir, "store", "lading", "git")).filter((n) => n.endsWith(".git"));
  // Pinned by the first build: a frozen build then asks the server only for what the store lacks.
  writeFileSync(join(dir, "Containerfile"), `FROM scratch\nADD ${repos.url}#main /src/\n`);
  const build = async (name: string, lock = "frozen") => {
    const r = await lading(["build", "--lock", lock, "-o", join(dir, name), dir], { env: storeEnv });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await fileIn(join(dir, name), "/src/docker/Containerfile"), "FROM scratch\nCOPY . /ctx/\n");
  };
  const df = async () => {
    const r = await lading(["df", "--json"], { env: storeEnv });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { usage: { gitMirrors: number }; reclaimable: number };
  };
  const prune = async (args: string[]) => {
    const r = await lading(["prune", ...args], { env: storeEnv });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };

  await build("a.tar", "update");
  const made = mirrors().length;
  assert.ok(made > 0, "the build made a mirror (one per repository: the app and its submodule)");
  assert.ok((await df()).usage.gitMirrors > 0, "the mirror's bytes are counted as their own kind");
  const text = await lading(["df"], { env: storeEnv });
  assert.match(text.stdout, /^git mirrors\s+\d/m);

  // Used just now: --filter until=48h keeps it; once it was last used three days ago, it goes.
  assert.doesNotMatch(await prune(["--filter", "until=48h"]), /gitmirror/);
  assert.equal(mirrors().length, made);
  // Time passes (collection leaves alone what was used in the last seconds).
  const age = () => {
    const old = new Date(Date.now() - 3 * 24 * 3600_000);
    for (const m of mirrors()) utimesSync(join(dir, "store", "lading", "git", m), old, old);
  };
  age();
  const idle = await df();
  assert.ok(idle.reclaimable >= idle.usage.gitMirrors, "an idle mirror is reclaimable");
  assert.match(await prune(["--filter", "until=48h"]), /removed gitmirror/);
  assert.deepEqual(mirrors(), []);
  assert.equal((await df()).usage.gitMirrors, 0);

  // The next build fetches again (a frozen build of a pinned commit still in the store sends no request), and works.
  const before = (await server.accessLog()).length;
  await build("b.tar");
  assert.ok((await server.accessLog()).length > before, "the commit is fetched again");
  const after = (await server.accessLog()).length;
  await build("b2.tar");
  assert.equal((await server.accessLog()).length, after, "and kept in the store again");
  assert.equal(mirrors().length, made);
  age();
  assert.match(await prune([]), /removed gitmirror/, "a plain prune removes a mirror no running session uses");
  assert.deepEqual(mirrors(), []);
  await build("c.tar");
  age();
  assert.match(await prune(["--all"]), /removed gitmirror/);
  assert.deepEqual(mirrors(), []);
});
