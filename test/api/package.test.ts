import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeBusyboxLayout } from "../helpers/images.js";

const root = fileURLToPath(new URL("../../..", import.meta.url));

/**
 * A project that installed lading, as npm leaves it: node_modules/lading (a link to this repo) and
 * its bin linked in node_modules/.bin. (`npx lading` in the repo itself would find no such bin: npm
 * would install the repo into its npx cache, running its prepare script, a rebuild of dist/ under the
 * other tests' feet, 20 s and more.)
 */
let consumer: string;
before(() => {
  mkdirSync(join(root, ".cache"), { recursive: true });
  consumer = mkdtempSync(join(root, ".cache", "consumer-"));
  mkdirSync(join(consumer, "node_modules", ".bin"), { recursive: true });
  symlinkSync(root, join(consumer, "node_modules", "lading"));
  symlinkSync(join("..", "lading", "bin", "lading.js"), join(consumer, "node_modules", ".bin", "lading"));
  symlinkSync(join(root, "node_modules", "@types"), join(consumer, "node_modules", "@types"));
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ type: "module", private: true, dependencies: { lading: "*" } }));
});
after(() => rmSync(consumer, { recursive: true, force: true }));

test('`import { connect } from "lading"` resolves in the repo, and `npx lading --version` answers quickly where lading is installed', async () => {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", 'import { connect, Container, ExecError } from "lading"; console.log(typeof connect, typeof Container, typeof ExecError)'], { cwd: root, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "function function function");
  const v = spawnSync("npx", ["--no-install", "lading", "--version"], { cwd: consumer, encoding: "utf8" });
  assert.equal(v.status, 0, v.stderr);
  assert.match(v.stdout, /^\d+\.\d+\.\d+/);
});

// What a TypeScript user compiles against is the built .d.ts, reached through the package's
// "exports", with `@internal` members stripped: this file must type-check there, as a consumer's would.
const CONSUMER = `
import { connect, Container, Directory, File, ExecError, type ConnectOpts, type ContainerWithExecOpts, type ContainerExportOpts,
  type ContainerWithMountedCacheOpts, type DirectoryEntriesOpts, type DirectoryExistsOpts, type HostDirectoryOpts, type ExecExpect } from "lading";
import { buildContainerfile } from "lading/containerfile";
import { ReturnType, CacheSharingMode, ImageMediaTypes, ImageLayerCompression, NetworkProtocol, ExistsType } from "lading";

// Each set is a scoped value and a literal type under one name (as Dagger's), and plain strings stay valid.
const any: ReturnType = ReturnType.Any;
const anyString: ReturnType = "ANY";
const locked: CacheSharingMode = CacheSharingMode.Locked;
const docker: ImageMediaTypes[] = [ImageMediaTypes.Dockermediatypes, "Docker", "OCIMediaTypes", "OCI"];
const zstd: ImageLayerCompression = ImageLayerCompression.Zstd;
const udp: NetworkProtocol = NetworkProtocol.Udp;
const regular: ExistsType[] = [ExistsType.RegularType, "REGULAR"];
// @ts-expect-error a value outside the set is a type error
const wrong: CacheSharingMode = "locked";
void [any, anyString, locked, docker, zstd, udp, regular, wrong];

const expect: ExecExpect = [0, 42];
const execOpts: ContainerWithExecOpts = { expect, stdin: "x", description: "RUN x" };
const opts: ConnectOpts = { store: "./store", compression: "Zstd" };

export async function main(): Promise<string> {
  return connect(async (client) => {
    const c: Container = client.container({ platform: "linux/amd64" }).from("alpine:3.20")
      .withExec(["sh", "-c", "exit 3"], { expect: "ANY" }).withExec(["true"], execOpts).withAnnotation("org.example", "1");
    const exported: string = await c.export("img.tar", { tag: "app:1", forcedCompression: "Gzip" } satisfies ContainerExportOpts);
    const cache: ContainerWithMountedCacheOpts = { sharing: "LOCKED", source: client.directory() };
    c.withMountedCache("/cache", client.cacheVolume("v"), cache);
    const dir: Directory = client.directory().withNewFile("a.txt", "a", { permissions: 0o600 }).withNewDirectory("sub");
    const names: string[] = await dir.entries({ path: "sub" } satisfies DirectoryEntriesOpts);
    const there: boolean = await dir.exists("a.txt", { expectedType: "REGULAR" } satisfies DirectoryExistsOpts);
    const f: File = dir.file("a.txt");
    const text: string = await f.contents();
    const host = client.host().directory(".", { exclude: ["node_modules"] } satisfies HostDirectoryOpts);
    const built: Container = await buildContainerfile(client, { file: "Containerfile", context: "." });
    try {
      await built.withDirectory("/src", host).sync();
    } catch (err) {
      if (err instanceof ExecError) return String(err.exitCode);
    }
    // @ts-expect-error engine-only members (@internal) are not in the declarations
    void c.node;
    // @ts-expect-error options are checked: a misspelt one is an error
    c.withExec(["true"], { expct: "ANY" });
    return [exported, names.join(), String(there), text].join();
  }, opts);
}
`;

test("a TypeScript consumer type-checks against the built declarations (connect, Container, Directory, File, …Opts, lading/containerfile)", async () => {
  writeFileSync(join(consumer, "consumer.ts"), CONSUMER);
  const compilerOptions = { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", lib: ["ES2023"], types: ["node"], strict: true, noEmit: true, skipLibCheck: false };
  writeFileSync(join(consumer, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["consumer.ts"] }));
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  const r = spawnSync(process.execPath, [tsc, "-p", join(consumer, "tsconfig.json")], { cwd: consumer, encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

// "lading", "lading/containerfile" and "lading/modules" load from one bundle (dist/lib): a user's script that mixes
// them, and a build module's own `import "lading"`, must meet one class set, as they did from dist/src.
test('a script importing "lading", "lading/containerfile" and "lading/modules" meets one set of classes, its build module\'s too', async () => {
  const layout = await makeBusyboxLayout(join(consumer, "busybox"));
  const app = join(consumer, "app");
  mkdirSync(app);
  writeFileSync(join(app, "main.txt"), "the app\n");
  const script = `
import { connect, Container, ContainerfileError, LadingError } from "lading";
import * as containerfile from "lading/containerfile";
import { openModule, callModule } from "lading/modules";
const out = await connect(async (client) => {
  const mod = await openModule(client, ${JSON.stringify(join(root, "fixtures", "modules", "ci"))});
  const result = await callModule(client, mod, ["build", "--base", ${JSON.stringify(layout.ref)}, "--src", ${JSON.stringify(app)}]);
  // The module's own dag: the client of this call only if its "lading" is this script's.
  const notes = await callModule(client, mod, ["notes", "--text", "from the script", "file", "--path", "notes.txt", "contents"]);
  const parsed = (() => { try { containerfile.parseContainerfile("FROM"); } catch (e) { return e; } })();
  return [result.value instanceof Container, notes.value, containerfile.ContainerfileError === ContainerfileError, parsed instanceof LadingError, await result.value.digest()];
}, { store: ${JSON.stringify(join(consumer, "store"))} });
console.log(JSON.stringify(out));
`;
  writeFileSync(join(consumer, "mix.mjs"), script);
  const r = spawnSync(process.execPath, [join(consumer, "mix.mjs")], { cwd: consumer, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const [isContainer, notes, sameError, parsedIsLadingError, digest] = JSON.parse(r.stdout) as [boolean, string, boolean, boolean, string];
  assert.deepEqual([isContainer, notes, sameError, parsedIsLadingError], [true, "from the script", true, true]);
  // The same steps through dist/src, as this test imports it: the same image.
  const { connect } = await import("../../src/index.js");
  const direct = await connect(
    (c) => c.container().from(layout.ref).withDirectory("/app", c.host().directory(app)).withWorkdir("/app").withExec(["sh", "-c", "ls > /listing.txt"]).digest(),
    { store: join(consumer, "store-direct") },
  );
  assert.equal(digest, direct);
});

// After `npx tsc` alone the bundle is older than dist/src: its entries must not run the old code, but dist/src (as
// bin/lading.js does for the command). A copy of dist/lib beside links to dist/src and bin, its bundle's mtime set.
test('import "lading" runs dist/src when the bundle is older than it (tsc alone), and the bundle when it is not', () => {
  const copy = join(consumer, "stale");
  mkdirSync(join(copy, "dist", "lib"), { recursive: true });
  mkdirSync(join(copy, "bin"));
  for (const f of readdirSync(join(root, "dist", "lib"))) copyFileSync(join(root, "dist", "lib", f), join(copy, "dist", "lib", f));
  symlinkSync(join(root, "dist", "src"), join(copy, "dist", "src"));
  symlinkSync(join(root, "bin", "code-cache.js"), join(copy, "bin", "code-cache.js"));
  const srcIndex = join(root, "dist", "src", "index.js");
  const mtime = statSync(srcIndex).mtime.getTime();
  const runsSources = (bundleMtime: number): boolean => {
    utimesSync(join(copy, "dist", "lib", "lading.cjs"), new Date(bundleMtime), new Date(bundleMtime));
    const code = `const a = await import(${JSON.stringify(join(copy, "dist", "lib", "index.js"))}); const b = await import(${JSON.stringify(srcIndex)}); console.log(a.Container === b.Container);`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim() === "true";
  };
  assert.equal(runsSources(mtime - 60_000), true, "a bundle older than dist/src was run");
  assert.equal(runsSources(mtime + 60_000), false, "a bundle newer than dist/src was not run");
});
