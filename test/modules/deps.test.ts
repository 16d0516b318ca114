/**
 * Dependencies between modules on a real git server (issue 15): `lading
 * install` keeps the source exactly as given and pins the commit it names;
 * calls use the pin, so a branch that moves changes nothing (and asks the
 * server nothing) until `lading update`; the dependency's objects are
 * imported as `lading:NAME` and type-check through the tsconfig paths
 * lading writes; `-m` and Directory arguments take git URLs; a pin that no
 * longer exists upstream says so and what to do.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { lading } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { gitIn, makeBareRepo, startGitServer, type GitServer } from "../helpers/git-server.js";
import { makeBusyboxLayout, type TestImage } from "../helpers/images.js";
import { copyFixture, fixture } from "./fixtures.js";

const TSC = fileURLToPath(new URL("../../../node_modules/typescript/bin/tsc", import.meta.url));
const t = tempDir("lading-modules-deps-");
const env = { LADING_HOME: join(t.path, "store") };
let server: GitServer;
let busybox: TestImage;
let work: string;
let source: string;

before(async () => {
  server = await startGitServer();
  busybox = await makeBusyboxLayout(join(t.path, "busybox"));
  const bare = makeBareRepo(server, "tools");
  work = join(t.path, "tools-work");
  mkdirSync(work);
  gitIn(work, ["init", "--quiet", "--initial-branch=main"]);
  cpSync(fixture("node-tools"), join(work, "modules", "node-tools"), { recursive: true });
  gitIn(work, ["add", "."]);
  gitIn(work, ["commit", "--quiet", "-m", "tools 1"]);
  gitIn(work, ["push", "--quiet", bare, "main"]);
  source = `${server.base}/tools.git#main:modules/node-tools`;
});
after(async () => {
  await server?.stop();
  t.cleanup();
});

function setToolsVersion(v: string, branch = "main"): string {
  const file = join(work, "modules", "node-tools", "index.ts");
  writeFileSync(file, readFileSync(file, "utf8").replace(/TOOLS_VERSION = "[^"]*"/, `TOOLS_VERSION = "${v}"`));
  gitIn(work, ["commit", "--quiet", "-am", `tools ${v}`]);
  gitIn(work, ["push", "--quiet", "--force", join(server.repos, "tools.git"), `HEAD:${branch}`]);
  return gitIn(work, ["rev-parse", "HEAD"]);
}

const manifest = (dir: string) => JSON.parse(readFileSync(join(dir, "lading.json"), "utf8")) as { dependencies: Array<{ name: string; source: string; pin: string }> };

test("install pins the commit, calls use the pin while the branch moves (no request to the server), update moves it", async () => {
  const mod = copyFixture("uses-tools", join(t.path, "uses"));
  const first = gitIn(work, ["rev-parse", "HEAD"]);
  const inst = await lading(["install", source, "-m", mod], { env });
  assert.equal(inst.code, 0, inst.stderr);
  assert.equal(inst.stdout, `node-tools ${source} ${first}\n`);
  assert.deepEqual(manifest(mod).dependencies, [{ name: "node-tools", source, pin: first }], "the source is kept exactly as given");

  const call = (args: string[]) => lading(["call", "-m", mod, ...args], { env });
  assert.equal((await call(["tools-version"])).stdout, "tools 1\n");
  assert.equal((await call(["marker"])).stdout, "tools 1\n", "dag works inside the dependency's code");
  assert.equal((await call(["tools", "version"])).stdout, "tools 1\n", "a call chains onto the dependency's object");
  const img = await call(["image", "--base", busybox.ref, "file", "--path", "/etc/tools-version", "contents"]);
  assert.equal(img.stdout, "1\n", img.stderr);

  const second = setToolsVersion("2");
  const before = (await server.accessLog()).length;
  assert.equal((await call(["tools-version"])).stdout, "tools 1\n", "the branch moved; the pin did not");
  assert.equal((await server.accessLog()).length, before, "a pinned dependency already fetched asks the server nothing");

  const up = await lading(["update", "-m", mod], { env });
  assert.equal(up.code, 0, up.stderr);
  assert.equal(up.stdout, `node-tools ${source} ${second} (was ${first})\n`);
  assert.deepEqual(manifest(mod).dependencies, [{ name: "node-tools", source, pin: second }]);
  assert.equal((await call(["tools-version"])).stdout, "tools 2\n");
  const again = await lading(["update", "node-tools", "-m", mod], { env });
  assert.equal(again.stdout, `node-tools ${source} ${second} (unchanged)\n`);
  const unknown = await lading(["update", "node-toolz", "-m", mod], { env });
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /node-toolz is not a dependency of module uses-tools \(its dependencies: node-tools\)/);
});

test("a dependency's objects type-check in an editor through the tsconfig paths install writes (and a wrong use fails to)", async () => {
  const mod = copyFixture("uses-tools", join(t.path, "uses-typed"));
  assert.equal((await lading(["install", source, "--name", "node-tools", "-m", mod], { env })).code, 0);
  const tsc = (): { code: number; out: string } => {
    try {
      return { code: 0, out: execFileSync(process.execPath, [TSC, "-p", join(mod, "tsconfig.json")], { encoding: "utf8" }) };
    } catch (err) {
      return { code: (err as { status: number }).status, out: String((err as { stdout: string }).stdout) };
    }
  };
  const ok = tsc();
  assert.equal(ok.code, 0, ok.out);
  writeFileSync(join(mod, "wrong.ts"), 'import { NodeTools } from "lading:node-tools";\nexport const n: number = new NodeTools().version();\n');
  const wrong = tsc();
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.out, /wrong\.ts\(2,14\): error TS2322: Type 'string' is not assignable to type 'number'/);
});

test("install of a repository that is not a module is refused, and lading.json is left as it was", async () => {
  const mod = copyFixture("uses-tools", join(t.path, "uses-wrong"));
  const before = readFileSync(join(mod, "lading.json"), "utf8");
  const r = await lading(["install", `${server.base}/tools.git#main`, "-m", mod], { env });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /tools\.git#main is not a lading module: no lading.json at commit [0-9a-f]{40} \(a module in a sub-folder is given as URL#REF:SUBDIR\)/);
  assert.equal(readFileSync(join(mod, "lading.json"), "utf8"), before);
});

test("-m and Directory arguments take git URLs", async () => {
  const viaGit = await lading(["call", "-m", source, "version"], { env });
  assert.equal(viaGit.code, 0, viaGit.stderr);
  assert.match(viaGit.stdout, /^tools \d\n$/);
  const listing = await lading(["call", "-m", fixture("ci"), "build", "--base", busybox.ref, "--src", source, "file", "--path", "/listing.txt", "contents"], { env });
  assert.equal(listing.stdout, "index.ts\nlading.json\n", listing.stderr);
});

test("a pin that no longer exists upstream: the call says which dependency and to run lading update", async () => {
  const mod = copyFixture("uses-tools", join(t.path, "uses-gone"));
  const goneSource = `${server.base}/tools.git#gone:modules/node-tools`;
  const pin = setToolsVersion("gone", "gone");
  assert.equal((await lading(["install", goneSource, "--name", "node-tools", "-m", mod], { env })).code, 0);
  // The branch is deleted and its commit collected on the server.
  const bare = join(server.repos, "tools.git");
  gitIn(bare, ["branch", "-D", "gone"]);
  gitIn(bare, ["reflog", "expire", "--expire=now", "--all"]);
  gitIn(bare, ["gc", "--quiet", "--prune=now"]);
  const r = await lading(["call", "--store", join(t.path, "fresh-store"), "-m", mod, "tools-version"], { env });
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`dependency "node-tools": its pin ${pin} no longer exists at ${server.base}/tools.git \\(source ${goneSource.replace(/[.#]/g, "\\$&")}\\); run \`lading update node-tools\``));
});

test("df counts build modules' state as its own kind; prune frees what was idle and the next call remakes it", async () => {
  const mod = copyFixture("uses-tools", join(t.path, "uses-gc"));
  const store = join(t.path, "store-gc");
  const genv = { LADING_HOME: store };
  assert.equal((await lading(["install", source, "-m", mod], { env: genv })).code, 0);
  assert.equal((await lading(["call", "-m", mod, "tools-version"], { env: genv })).stdout, "tools 2\n");
  const df = async () => JSON.parse((await lading(["df", "--json"], { env: genv })).stdout) as { usage: { modules: number } };
  assert.ok((await df()).usage.modules > 0, "the checkout and the transpiled entries are counted");
  assert.match((await lading(["df"], { env: genv })).stdout, /^build modules\s+\d/m);
  // Used just now: kept; three days idle: freed.
  assert.doesNotMatch((await lading(["prune", "--filter", "until=48h"], { env: genv })).stdout, /removed module/);
  const old = new Date(Date.now() - 3 * 24 * 3600_000);
  for (const sub of ["deps", "entries", "code"]) {
    for (const n of readdirSync(join(store, "lading", "modules", sub))) utimesSync(join(store, "lading", "modules", sub, n), old, old);
  }
  const pruned = await lading(["prune", "--filter", "until=48h"], { env: genv });
  assert.match(pruned.stdout, /removed module\s+deps\//);
  assert.equal((await df()).usage.modules, 0);
  assert.equal((await lading(["call", "-m", mod, "tools-version"], { env: genv })).stdout, "tools 2\n");
});
