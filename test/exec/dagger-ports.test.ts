// Three of Dagger's documented TypeScript examples, ported by their import
// line (fixtures/dagger-ports/, each saying what changed), type-checked
// against lading's built declarations as a user's editor would, then run
// (as root and, in CI, again as an unprivileged user: this is an exec test):
// exit codes with ReturnType.Any, cache volumes with CacheSharingMode.Locked,
// and a publish to a registry that wants a password (issue 15).
// The images they name (alpine, node:21, nginx:1.23-alpine) are made here
// from the busybox test image and tagged in the store, so `from` finds them
// without a network; "npm" in node:21 is a script (below) that does what the
// example needs of it: fill node_modules and keep a download cache in ~/.npm.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { connect, type Client } from "../../src/index.js";
import { makeBusyboxLayout } from "../helpers/images.js";
import { startRegistry, type RegistryHandle } from "../helpers/registry.js";
import { REPO_ROOT } from "../helpers/shared.js";
import { tempDir } from "../helpers/tmp.js";
import { run } from "../helpers/tools.js";
import { rmAll } from "./fixture.js";

const t = tempDir("lading-dagger-ports-");
const PORTS = join(REPO_ROOT, "fixtures", "dagger-ports");
let client: Client;
let built: string;

// Refuses to run beside another install on the same cache (a shared, unlocked volume would let them meet).
const FAKE_NPM = `#!/bin/sh
set -e
[ "$1" = install ]
mkdir -p /root/.npm node_modules
if [ -e /root/.npm/busy ]; then echo "npm: another install is using the cache" >&2; exit 9; fi
touch /root/.npm/busy
name=$(sed -n 's/.*"name": *"\\([^"]*\\)".*/\\1/p' package.json)
mkdir -p "node_modules/$name"
echo "$name" >> /root/.npm/downloads
sleep 1
echo "downloads: $(wc -l < /root/.npm/downloads)"
echo "node_modules: $(ls node_modules | tr '\\n' ' ')"
rm /root/.npm/busy
`;

/** Compiles the ports with tsc against the built package, as a consumer with `"lading"` in node_modules would. */
function compilePorts(): string {
  const dir = join(t.path, "consumer");
  mkdirSync(join(dir, "node_modules"), { recursive: true });
  symlinkSync(REPO_ROOT, join(dir, "node_modules", "lading"));
  // lading's declarations name Node's types (Buffer, streams), as a Node project's would have them.
  symlinkSync(join(REPO_ROOT, "node_modules", "@types"), join(dir, "node_modules", "@types"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
  const files = readdirSync(PORTS).filter((f) => f.endsWith(".ts")).map((f) => join(PORTS, f));
  // Dagger's runtime transpiles without type-checking, so its classes leave fields uninitialised (TestResult): the one strict check relaxed.
  const compilerOptions = { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", lib: ["ES2023"], types: ["node"], strict: true, strictPropertyInitialization: false, skipLibCheck: false, rootDir: PORTS, outDir: join(dir, "out") };
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions, files }));
  const r = spawnSync(process.execPath, [join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(dir, "tsconfig.json")], { cwd: dir, encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  return join(dir, "out");
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the ports are typed in their own compilation
async function port(name: string): Promise<{ MyModule: new () => any }> {
  const m = await import(pathToFileURL(join(built, `${name}.js`)).href);
  m.bind(client);
  return m;
}

before(async () => {
  built = compilePorts();
  const busybox = await makeBusyboxLayout(join(t.path, "busybox"));
  client = await connect({ store: join(t.path, "store") });
  const base = client.container().from(busybox.ref);
  await base.tag("alpine");
  await base.tag("nginx:1.23-alpine");
  await base.withNewFile("/usr/local/bin/npm", FAKE_NPM, { permissions: 0o755 }).tag("node:21");
});
after(async () => {
  await client?.close();
  rmAll(t);
});

test("continue-after-errors: withExec with ReturnType.Any keeps the failing container; its exit code and report are read after", async () => {
  const { MyModule } = await port("continue-after-errors");
  const result = await new MyModule().test();
  assert.equal(result.exitCode, 1);
  assert.equal(await result.report.contents(), "Test 1: PASS\nTest 2: FAIL\nTest 3: PASS\n");
});

test("cache-dependencies: both volumes outlive each build, and with CacheSharingMode.Locked concurrent installs take turns", async () => {
  const { MyModule } = await port("cache-dependencies");
  const source = (name: string) => client.directory().withNewFile("package.json", JSON.stringify({ name }));
  const build = (name: string): Promise<string> => new MyModule().build(source(name)).stdout();
  assert.equal(await build("app-a"), "downloads: 1\nnode_modules: app-a \n");
  // Two at once: with the volumes locked neither finds the other's install under way (the fake npm exits 9 if it does).
  const both = await Promise.all([build("app-b"), build("app-c")]);
  const counts = both.map((out) => /downloads: (\d+)/.exec(out)![1]).sort();
  assert.deepEqual(counts, ["2", "3"]);
  assert.match(both.find((o) => o.includes("downloads: 3"))!, /node_modules: app-a app-b app-c \n/);
});

test("publish-image: withRegistryAuth and publish push to a registry that wants the password; the image holds the new file", async (tt) => {
  const pass = "s3cret-dagger-port";
  const reg: RegistryHandle = await startRegistry({ htpasswd: { user: "ci", pass } });
  tt.after(() => reg.stop());
  const { MyModule } = await port("publish-image");
  const ref: string = await new MyModule().publish(reg.host, "ci", client.setSecret("password", pass));
  assert.match(ref, new RegExp(`^${reg.host.replace(/\./g, "\\.")}/ci/my-nginx(:latest)?@sha256:[0-9a-f]{64}$`));
  const digest = ref.split("@")[1];
  const inspected = JSON.parse(run("skopeo", ["inspect", "--tls-verify=false", "--creds", `ci:${pass}`, `docker://${reg.host}/ci/my-nginx:latest`]));
  assert.equal(inspected.Digest, digest);
  const fresh = await connect({ store: join(t.path, "fresh-store") });
  try {
    const pulled = fresh.container().withRegistryAuth(reg.host, "ci", fresh.setSecret("p", pass)).from(ref);
    assert.equal(await pulled.file("/usr/share/nginx/html/index.html").contents(), "Hello from Dagger!");
  } finally {
    await fresh.close();
  }
});
