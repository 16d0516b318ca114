// What a command loads, not how long it takes (issue 17): `lading --version`,
// a push of an OCI layout and a no-op rebuild must not load the code they do
// not use. Checked twice: through the sources as tsc leaves them (dist/src:
// every ES module is seen by a loader hook, so the names are exact), and
// through bin/lading.js and its bundle (only built-ins, packages and worker
// threads are visible there, and that no module of dist/src was loaded at
// all). The same for a script's `import … from "lading"`: dist/src/index.js,
// and the library bundle the package's "exports" lead to (dist/lib).
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LADING } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { makeBusyboxLayout } from "../helpers/images.js";
import { startRegistry, type RegistryHandle } from "../helpers/registry.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const moduleLog = fileURLToPath(new URL("../helpers/module-log.js", import.meta.url));
const mainJs = join(root, "dist", "src", "cli", "main.js");
const bundle = join(root, "dist", "lading-cli.cjs");
const library = join(root, "dist", "lib", "lading.cjs");
const t = tempDir("lading-loads-");
let reg: RegistryHandle;
let layoutRef: string;
let store: string;
let ctx: string;

interface Loaded {
  /** Modules of dist/src, relative to it (`cli/main.js`). */
  sources: string[];
  /** ES modules of dist/lib, the library bundle's entries (`index.js`). */
  lib: string[];
  /** Packages from node_modules (`tar-stream`, `@opentelemetry/api`). */
  packages: Set<string>;
  builtins: Set<string>;
  workers: string[];
}

let runs = 0;
async function loads(how: "sources" | "bundle", args: string[]): Promise<Loaded> {
  const argv =
    how === "bundle"
      ? ["--import", moduleLog, LADING, ...args]
      : ["--import", moduleLog, "--input-type=module", "-e", `(await import(${JSON.stringify(mainJs)})).runCli(["node", "lading", ...${JSON.stringify(args)}]);`];
  return loadsOf(argv, `lading ${args.join(" ")} (${how})`);
}

/** What `import SPECIFIER` loads, run from the repository (where "lading" names the package itself). */
function importLoads(specifier: string): Promise<Loaded> {
  return loadsOf(["--import", moduleLog, "--input-type=module", "-e", `await import(${JSON.stringify(specifier)});`], `import ${specifier}`);
}

async function loadsOf(argv: string[], what: string): Promise<Loaded> {
  const log = join(t.path, `modules-${++runs}.log`);
  writeFileSync(log, "");
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: root, env: { ...process.env, LADING_MODULE_LOG: log }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c) => (stderr += c));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
  const lines = readFileSync(log, "utf8").trim().split("\n");
  const urls = lines.filter((l) => l.startsWith("url ")).map((l) => l.slice(4));
  const cjs = lines.filter((l) => l.startsWith("cjs ")).map((l) => l.slice(4));
  const src = "file://" + join(root, "dist", "src") + "/";
  const lib = "file://" + join(root, "dist", "lib") + "/";
  return {
    sources: urls.filter((u) => u.startsWith(src)).map((u) => u.slice(src.length)),
    lib: urls.filter((u) => u.startsWith(lib)).map((u) => u.slice(lib.length)),
    packages: new Set([...urls, ...cjs].map((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1]).filter((p): p is string => !!p)),
    builtins: new Set(lines.filter((l) => l.startsWith("builtin ")).map((l) => l.slice(8))),
    workers: lines.filter((l) => l.startsWith("worker ")).map((l) => l.slice(7)),
  };
}

/**
 * Built-ins are checked in the bundle only: from dist/src, commander's own
 * index loads child_process (the bundle defers it), and the preload itself
 * loads worker_threads (workers started are checked instead).
 */
function noneOf(loaded: Loaded, how: "sources" | "bundle", what: string, forbidden: { sources?: RegExp; packages?: RegExp; builtins?: string[] }): void {
  what = `${what} (${how})`;
  if (forbidden.sources) assert.deepEqual(loaded.sources.filter((s) => forbidden.sources!.test(s)), [], `${what} loaded sources it does not need`);
  if (forbidden.packages) assert.deepEqual([...loaded.packages].filter((p) => forbidden.packages!.test(p)), [], `${what} loaded packages it does not need`);
  if (how === "bundle") for (const b of forbidden.builtins ?? []) assert.ok(!loaded.builtins.has(b), `${what} loaded node:${b}`);
  assert.deepEqual(loaded.workers, [], `${what} started worker threads`);
}

before(async () => {
  // The bundle as `npm run build` makes it, when tsc has rewritten dist/src since (bin/lading.js would not use it).
  const fresh = (() => {
    try {
      return statSync(bundle).mtimeMs >= statSync(mainJs).mtimeMs;
    } catch {
      return false;
    }
  })();
  const libFresh = (() => {
    try {
      return statSync(library).mtimeMs >= statSync(join(root, "dist", "src", "index.js")).mtimeMs;
    } catch {
      return false;
    }
  })();
  if (!fresh || !libFresh) {
    const b = spawnSync(process.execPath, [join(root, "scripts", "bundle-cli.mjs")], { encoding: "utf8" });
    assert.equal(b.status, 0, `bundling the CLI and the library: ${b.stderr}`);
  }
  reg = await startRegistry();
  layoutRef = (await makeBusyboxLayout(join(t.path, "layout"))).ref;
  store = join(t.path, "store");
  await makeBusyboxLayout(store, "bb");
  ctx = join(t.path, "ctx");
  mkdirSync(ctx);
  writeFileSync(join(ctx, "hello.txt"), "hello\n");
  writeFileSync(join(ctx, "Containerfile"), "FROM bb\nRUN echo built > /built.txt\nCOPY hello.txt /hello.txt\n");
});
after(async () => {
  await reg?.stop();
  t.cleanup();
});

test("lading --version loads the command line and nothing of the engine", async () => {
  for (const how of ["sources", "bundle"] as const) {
    const l = await loads(how, ["--version"]);
    noneOf(l, how, "--version", { sources: /^(api|engine|store|registry|oci|exec|frontends|telemetry|git)\//, packages: /^(?!commander$)/, builtins: ["zlib", "child_process", "http", "crypto"] });
    if (how === "bundle") assert.deepEqual(l.sources, [], "bin/lading.js did not run the bundle");
  }
});

test("lading push of an OCI layout loads no Containerfile parser, layer writer, compressor, runtime, git or tracing", async () => {
  const args = ["push", "--progress", "quiet", "--store", join(t.path, "push-store"), "--insecure-registry", reg.host, layoutRef, `${reg.host}/loads/push:1`];
  for (const how of ["sources", "bundle"] as const) {
    const l = await loads(how, args);
    noneOf(l, how, "push", {
      sources: /^(frontends|exec)\/|^git\/(?!url\.js)|^oci\/(gzip|deflate|layer-writer|tar-|compress)|^engine\/(steps\/(exec|file-ops|rootfs)|sources\/(host|archive|file-hasher)|layer-files)|^telemetry\/(?!index|options)/,
      packages: /^(tar-stream|@opentelemetry\/|log-update)/,
      // http2: undici's h2 client, which a registry connection never negotiates; perf_hooks: performance.now();
      // tls: this registry speaks plain HTTP (a verified connection loads it, with NODE_EXTRA_CA_CERTS's file).
      builtins: ["zlib", "child_process", "http2", "perf_hooks", "tls"],
    });
    if (how === "sources") assert.ok(l.sources.includes("registry/push.js"), "the push itself was not seen: the loader hook saw nothing");
    else assert.deepEqual(l.sources, [], "bin/lading.js did not run the bundle");
  }
});

test("a no-op lading build of FROM + RUN + COPY starts no worker, runtime or tracing", async () => {
  const args = ["build", "--progress", "quiet", "--store", store, "-t", "out:1", ctx];
  const first = spawnSync(process.execPath, [LADING, ...args], { encoding: "utf8" });
  assert.equal(first.status, 0, first.stderr);
  for (const how of ["sources", "bundle"] as const) {
    const l = await loads(how, args);
    noneOf(l, how, "no-op build", {
      sources: /^exec\/(run|runc|podman|backends|backend-run|rootfs|snapshots|diff)\.js|^telemetry\/(?!index|options)/,
      packages: /^@opentelemetry\//,
      builtins: ["http", "https"],
    });
    if (how === "sources") assert.ok(l.sources.includes("frontends/containerfile/parse.js"), "the build itself was not seen: the loader hook saw nothing");
    else assert.deepEqual(l.sources, [], "bin/lading.js did not run the bundle");
  }
});

test('import "lading" loads nothing a plain connect() → withDirectory → digest does not need, and from the bundle one file', async () => {
  // What that connect() never loads: frontends, runtimes, registry transfers, git, compression, tracing, the CLI; built-ins of
  // the network, processes and compression; any package. (A plain import loaded no more than this from dist/src before the bundle.)
  const forbidden = {
    sources: /^(frontends|exec|cli|net)\/|^registry\/(?!reference\.js)|^git\/(?!url\.js)|^oci\/(gzip|deflate|tar-|compress)|^telemetry\/(?!index|options)/,
    packages: /./,
    // Not net: the test's pipe for stderr is a net.Socket in the child.
    builtins: ["zlib", "child_process", "http", "https", "http2", "tls", "dgram", "dns", "v8", "perf_hooks"],
  };
  const sources = await importLoads(join(root, "dist", "src", "index.js"));
  assert.ok(sources.sources.includes("api/client.js"), "the import was not seen: the loader hook saw nothing");
  noneOf(sources, "sources", 'import "lading"', forbidden);
  const bundled = await importLoads("lading");
  assert.deepEqual(bundled.sources, [], 'import "lading" ran dist/src, not the bundle');
  // The bundle itself (lading.cjs) is a script loader.js reads and runs, not a module the loader hook sees.
  assert.deepEqual(bundled.lib.sort(), ["index.js", "loader.js"], 'import "lading" loaded more of dist/lib than its entry and the bundle\'s loader');
  noneOf(bundled, "bundle", 'import "lading"', forbidden);
});

test("a layer of several blocks starts its compressing threads from the one bundled worker file", async () => {
  const big = join(t.path, "big-ctx");
  mkdirSync(big);
  // Text (compressible) of ~3 MiB: three 1 MiB blocks, so the pool starts.
  writeFileSync(join(big, "data.txt"), Array.from({ length: 60000 }, (_, i) => `line ${(i * 7919) % 10007} of the payload\n`).join("").repeat(2));
  writeFileSync(join(big, "Containerfile"), "FROM scratch\nCOPY data.txt /data.txt\n");
  for (const how of ["sources", "bundle"] as const) {
    const l = await loads(how, ["build", "--progress", "quiet", "--store", join(t.path, `big-store-${how}`), big]);
    assert.ok(l.workers.length > 0, `${how}: no compressing thread was started`);
    assert.deepEqual(l.workers.filter((w) => !w.endsWith("/dist/gzip-worker.cjs")), [], `${how}: a worker loaded ES modules one by one`);
  }
});
