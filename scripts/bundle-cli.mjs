#!/usr/bin/env node
// Bundles the CLI (dist/src/cli/main.js, compiled by tsc) and what it loads
// into one CommonJS file, dist/lading-cli.cjs, that bin/lading.js runs with
// V8's code cache. Start-up of a Node program is mostly finding, reading
// and compiling ~100 ESM files one by one (resolution alone was ~50 ms of a
// warm `lading push`); one file read and compiled from a cache is a few ms.
// CommonJS because Node 20 keeps a code cache only for scripts (vm.Script
// cachedData), not for ES modules.
//
// The library entries (`import … from "lading"`) are bundled too, into
// dist/lib, by scripts/bundle-lib.mjs from this same step; the CLI's
// build-module commands run from there (bin/lading.js).
// Modules loaded with import() in the sources stay lazy in the bundle (esbuild wraps them in init functions run on first use).
// Files found at run time next to a source file — workers, the wasm and
// native deflate, the exec helper — are still loaded from dist/src: every
// `import.meta.url` is replaced by the URL of the file it was written in.
//
// Run by `npm run build` and `npm ci` (the prepare script), after tsc.
import { build } from "esbuild";
import { readFile, rm } from "node:fs/promises";
import { builtinModules } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { assertAscii, bundleLibrary } from "./bundle-lib.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
const out = join(dist, "lading-cli.cjs");

/** `createRequire(import.meta.url)` lines whose require() esbuild should bundle (package.json, undici's files). */
const BUNDLED_REQUIRE = /^\s*const require = createRequire\(import\.meta\.url\);\s*$/m;

const BUILTINS = new Set(builtinModules);
const isExternal = (name) => BUILTINS.has(name.replace(/^node:/, "")) || name.startsWith("@opentelemetry/");
/** import() of what stays outside the bundle, which esbuild leaves as it is, becomes a require() (a vm.Script has no import()). */
function externalImports(text) {
  return text.replace(/\bimport\(\s*(["'])([\w:/@.-]+)\1\s*\)/g, (all, _q, name) => (isExternal(name) ? `__ladingImport(${JSON.stringify(name)})` : all));
}

const sourceUrls = {
  name: "source-urls",
  setup(b) {
    b.onLoad({ filter: /[\\/]dist[\\/]src[\\/].*\.js$/ }, async (args) => {
      let text = await readFile(args.path, "utf8");
      const rel = relative(dist, args.path).split("\\").join("/");
      if (rel === "src/cli/main.js" || rel === "src/registry/transport/undici-lite.js") text = text.replace(BUNDLED_REQUIRE, "");
      if (rel === "src/cli/main.js") {
        // Build modules import "lading" (dist/lib/index.js) and must meet the very objects the command made, so
        // bin/lading.js runs their commands from dist/lib/cli.js; this bundle leaves them (and esbuild, TypeScript) out.
        const modules = 'import("./commands/modules.js")';
        if (!text.includes(modules)) throw new Error(`${args.path}: no ${modules} to leave out (renamed?)`);
        text = text.replaceAll(modules, 'Promise.reject(new Error("build module commands run from dist/lib: see bin/lading.js"))');
      }
      text = text.replaceAll("import.meta.url", `__ladingSourceUrl(${JSON.stringify(rel)})`);
      return { contents: externalImports(text), loader: "js" };
    });
    // commander needs child_process only for executable subcommands, which lading has none of; loading it
    // (with net and dgram) at start-up was ~10 ms of every command.
    b.onLoad({ filter: /[\\/]node_modules[\\/]commander[\\/]lib[\\/]command\.js$/ }, async (args) => {
      const text = await readFile(args.path, "utf8");
      const eager = "const childProcess = require('node:child_process');";
      if (!text.includes(eager)) throw new Error(`${args.path}: no "${eager}" to make lazy (a new commander?)`);
      return { contents: text.replace(eager, "const childProcess = { spawn: (...a) => require('node:child_process').spawn(...a) };"), loader: "js" };
    });
    // undici's client loads its HTTP/2 half (node:http2, and with it tls and perf_hooks) when it is loaded, for
    // connections that negotiate h2, which lading's never do (no allowH2): ~5 ms of every push and pull.
    b.onLoad({ filter: /[\\/]node_modules[\\/]undici[\\/]lib[\\/]dispatcher[\\/]client\.js$/ }, async (args) => {
      const text = await readFile(args.path, "utf8");
      const eager = "const connectH2 = require('./client-h2.js')";
      if (!text.includes(eager)) throw new Error(`${args.path}: no "${eager}" to make lazy (a new undici?)`);
      return { contents: text.replace(eager, "const connectH2 = (...a) => require('./client-h2.js')(...a)"), loader: "js" };
    });

  },
};

await rm(out, { force: true });
await rm(join(dist, ".code-cache"), { recursive: true, force: true }); // bin/lading.js's caches of the old bundle
const library = bundleLibrary(dist);
library.catch(() => {}); // awaited below, after the CLI's bundle
const result = await build({
  entryPoints: [join(dist, "src", "cli", "main.js")],
  outfile: out,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  // The native deflate addon is found at run time (optional, built at install).
  // OpenTelemetry (1 MB of the 2.5 MB) is loaded only when tracing is on: from node_modules then.
  external: ["*.node", "@opentelemetry/*"],
  minify: true,
  keepNames: false,
  banner: {
    js: [
      'const __ladingSourceUrl = (rel) => require("node:url").pathToFileURL(require("node:path").join(__dirname, rel)).href;',
      // import() of a built-in or an external package, as a namespace object with its default export.
      "const __ladingImport = async (name) => { const m = require(name); return { ...m, default: m }; };",
    ].join("\n"),
  },
  plugins: [sourceUrls],
  legalComments: "none",
  logLevel: "warning",
  metafile: true,
});
// The bundle runs as a vm.Script, which has no loader for import(): every import() must have been bundled.
const text = await readFile(out, "utf8");
const dynamic = /\bimport\("/.exec(text); // esbuild writes double quotes; JSDoc's import('…') types are comments
if (dynamic) throw new Error(`${out}: an import() was left in the bundle at offset ${dynamic.index}; bundle or require it`);
assertAscii(out, text);
const inputs = Object.keys(result.metafile.inputs).length;
process.stdout.write(`bundled ${inputs} files into ${relative(root, out)} (${(text.length / 1024).toFixed(0)} KiB)\n`);
process.stdout.write(`${await library}\n`);

// The compressing threads' code (src/oci/gzip-parallel-worker.js and the nine
// modules it imports) as one CommonJS file, dist/gzip-worker.cjs: a worker
// thread that loads ES modules starts Node's ESM loader and resolves and reads
// each file before it takes its first block (~10 ms more on a quiet machine,
// 40–60 ms more under load), and a layer waits for it. gzip-pool.ts uses it
// when it is not older than the module it was made from. The library and the
// CLI both start their workers from it.
const worker = join(dist, "gzip-worker.cjs");
await rm(worker, { force: true });
await build({
  entryPoints: [join(dist, "src", "oci", "gzip-parallel-worker.js")],
  outfile: worker,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  external: ["*.node"],
  minify: true,
  banner: { js: 'const __ladingSourceUrl = (rel) => require("node:url").pathToFileURL(require("node:path").join(__dirname, rel)).href;' },
  plugins: [sourceUrls],
  legalComments: "none",
  logLevel: "warning",
});
assertAscii(worker, await readFile(worker, "utf8"));
process.stdout.write(`bundled the compressing threads into ${relative(root, worker)}\n`);
