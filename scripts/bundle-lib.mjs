// Bundles the library (`import … from "lading"`, "lading/containerfile",
// "lading/modules", and the CLI's build-module commands) into one CommonJS
// file, dist/lib/lading.cjs, that dist/lib/loader.js runs through V8's code
// cache (bin/code-cache.js, as bin/lading.js runs the command's bundle).
// From dist/src, importing "lading" found, read, compiled and linked ~50
// ES modules one by one, and connect() → withDirectory → digest ~40 more
// (issue 17); as one ES module file it still compiled ~550 KB at every
// start. A script, not an ES module: Node 20 keeps a code cache only for
// scripts (vm.Script cachedData; module.enableCompileCache is 22.1+).
//
// Nothing loads sooner than from dist/src: a module the sources load with
// import() stays lazy (esbuild wraps it in an init function run by that
// import()), and so do the built-ins and packages it require()s. Any other
// import() (a package, a build module's code) is loader.js's: a script run
// from a code cache has no import() of its own in Node 20 (its functions
// lose the loader callback; vm's USE_MAIN_CONTEXT_DEFAULT_LOADER would also
// print an ExperimentalWarning in the user's program).
//
// The entries (dist/lib/index.js, containerfile.js, modules.js, cli.js) are
// small ES modules over loader.js's one instance of the bundle, so every
// entry, the CLI's build-module commands (bin/lading.js runs them from
// cli.js) and a build module's `import "lading"` (frontends/modules/
// transpile.js is pointed at these entries here) share one class set: a
// module's `dag` is the command's client, a user's Container is the one
// `lading/containerfile` returns. A bundle older than dist/src (a checkout
// rebuilt with tsc alone) would run old code: the entries then load dist/src,
// which points its build modules at dist/src: each is whole on its own.
//
// Files found at run time next to a source file (workers, the wasm and native
// deflate, the exec helper, package.json) are still found in dist/src: every
// `import.meta.url` becomes the URL of the dist/src file it was written in.
// Stack frames name dist/lib/lading.cjs, with the sources' function names.
//
// Called by scripts/bundle-cli.mjs (one build step for both bundles).
import { build } from "esbuild";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";

/** The entries besides "lading" itself, as package.json's "exports" and bin/lading.js name them, and their sources. */
const LAZY = { containerfile: "src/frontends/containerfile/index.js", modules: "src/frontends/modules/index.js", cli: "src/cli/main.js" };
/** The bundle's export of LAZY's loaders; not re-exported by index.js. */
const LAZY_EXPORT = "__ladingEntries";

/** Exact rewrites of one source file, each checked: a renamed line must fail the build, not quietly break identity. */
const REWRITES = {
  // Build modules import the running lading: from the bundle, its entries (see the head of this file).
  "src/frontends/modules/transpile.js": [
    ['new URL("../../index.js", import.meta.url)', 'new URL("./index.js", __ladingBase)'],
    ['new URL("../containerfile/index.js", import.meta.url)', 'new URL("./containerfile.js", __ladingBase)'],
  ],
};
/** Text that contains `import.meta.url` but is not this file's own (the banner of a transpiled build module). */
const KEEP = { "src/frontends/modules/transpile.js": ["__ladingRequire(import.meta.url)"] };

/** dist/lib/loader.js: runs the bundle once per process, or says it is stale. */
const LOADER = `// Made by scripts/bundle-lib.mjs: runs dist/lib/lading.cjs once, through V8's code cache (see there).
import { statSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";

const bundle = fileURLToPath(new URL("./lading.cjs", import.meta.url));
let st;
try {
  st = statSync(bundle);
  // tsc rewrites every output: an index.js newer than the bundle means the bundle was made from older sources.
  if (statSync(fileURLToPath(new URL("../src/index.js", import.meta.url))).mtimeMs > st.mtimeMs) st = undefined;
} catch {
  st = undefined;
}
const dirs = [fileURLToPath(new URL("../.code-cache-lib", import.meta.url)), join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "lading", "code-cache-lib")];
// The bundle's import()s of what it does not hold (packages, build modules' code): this module's.
const __ladingImport = (specifier) => import(specifier);
/** The bundle's exports; undefined when it is older than dist/src (the entries load dist/src then). */
export const lading = st ? createRequire(import.meta.url)("../../bin/code-cache.js").runCached(bundle, st, "lib", dirs, { __ladingImport }) : undefined;
`;

/** Bundles into dist/lib (`dist` is the dist folder); returns a line to print. */
export async function bundleLibrary(dist) {
  const root = resolve(dist, "..");
  const outdir = join(dist, "lib");
  const src = (rel) => join(dist, rel);
  await rm(outdir, { recursive: true, force: true });
  await rm(join(dist, ".code-cache-lib"), { recursive: true, force: true }); // loader.js's caches of the old bundle
  const plugin = {
    name: "lading-lib",
    setup(b) {
      b.onLoad({ filter: /[\\/]dist[\\/]src[\\/].*\.js$/ }, async (args) => {
        let text = await readFile(args.path, "utf8");
        const rel = relative(dist, args.path).split("\\").join("/");
        for (const [from, to] of REWRITES[rel] ?? []) {
          if (!text.includes(from)) throw new Error(`${args.path}: no ${from} to rewrite (renamed?)`);
          text = text.replaceAll(from, to);
        }
        const kept = KEEP[rel] ?? [];
        kept.forEach((k, i) => {
          if (!text.includes(k)) throw new Error(`${args.path}: no ${k} to keep (renamed?)`);
          text = text.replaceAll(k, `__LADING_KEEP_${i}__`);
        });
        text = text.replaceAll("import.meta.url", `new URL(${JSON.stringify(`../${rel}`)}, __ladingBase).href`);
        kept.forEach((k, i) => (text = text.replaceAll(`__LADING_KEEP_${i}__`, k)));
        // import() of a relative file is bundled (esbuild's init wrapper); any other becomes loader.js's. Not one
        // inside a string: init.ts writes {import(\"lading\").Directory} into a user's file (a backslash after it).
        text = text.replace(/\bimport\(\s*(["'])([^"'\s]+)\1\s*\)/g, (all, _q, spec) => (spec.startsWith(".") ? all : `__ladingImport(${JSON.stringify(spec)})`));
        text = text.replace(/\bimport\((?!\s*["'`\\])/g, "__ladingImport(");
        return { contents: text, loader: "js" };
      });
    },
  };
  const lazy = Object.entries(LAZY).map(([name, file]) => `${name}: () => import(${JSON.stringify(src(file))})`);
  const out = join(outdir, "lading.cjs");
  const result = await build({
    stdin: { contents: `export * from ${JSON.stringify(src("src/index.js"))};\nexport const ${LAZY_EXPORT} = { ${lazy.join(", ")} };\n`, resolveDir: root, sourcefile: "lading-entries.js" },
    outfile: out,
    absWorkingDir: root,
    bundle: true,
    format: "cjs",
    platform: "node",
    target: "node20",
    // Packages load from node_modules, as from dist/src: require()d where a module's init runs, import()ed where it was.
    packages: "external",
    // Names kept: error classes and stack frames read as in the sources.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: "none",
    logLevel: "silent",
    banner: { js: 'const __ladingBase = require("node:url").pathToFileURL(__filename).href;' },
    plugins: [plugin],
  });
  // import.meta left anywhere would be esbuild's empty object in a script: a URL built on it breaks at run time.
  const meta = result.warnings.find((w) => /import\.meta/.test(w.text));
  if (meta) throw new Error(`${meta.location?.file ?? out}:${meta.location?.line}: ${meta.text}`);
  const text = await readFile(out, "utf8");
  // Not init.ts's doc text for a user's module (esbuild prints that string unescaped).
  const dynamic = /\bimport\((?!"lading"\)\.Directory\})/.exec(text);
  if (dynamic) throw new Error(`${out}: an import() was left in the bundle at offset ${dynamic.index} (${text.slice(dynamic.index, dynamic.index + 60)}); a script run from a code cache cannot run it`);
  assertAscii(out, text);

  // The entries: each takes its names from dist/src itself, so an export added there is one here at the next build.
  await writeFile(join(outdir, "loader.js"), LOADER);
  const entry = (names, fromBundle, source) =>
    [
      "// Made by scripts/bundle-lib.mjs: one instance of lading for every entry (see there); dist/src if the bundle is older.",
      'import { lading } from "./loader.js";',
      `const m = lading ? ${fromBundle} : await import(${JSON.stringify(`../${source}`)});`,
      `export const { ${names.join(", ")} } = m;`,
      "",
    ].join("\n");
  await writeFile(join(outdir, "index.js"), entry(Object.keys(await import(pathToFileURL(src("src/index.js")).href)), "lading", "src/index.js"));
  for (const [name, file] of Object.entries(LAZY)) {
    const names = name === "cli" ? ["runCli"] : Object.keys(await import(pathToFileURL(src(file)).href));
    if (name === "cli" && !/^export (async )?function runCli\b/m.test(await readFile(src(file), "utf8"))) throw new Error(`${src(file)}: no runCli export`);
    await writeFile(join(outdir, `${name}.js`), entry(names, `await lading.${LAZY_EXPORT}.${name}()`, file));
  }
  return `bundled the library into ${relative(root, out)} (${(text.length / 1024).toFixed(0)} KiB)`;
}

/**
 * A bundle of ASCII only is read into a one-byte string: V8 keeps half the
 * memory and Node decodes it ~3x faster than one with a single "—" in it,
 * which makes the whole source two-byte (~2 ms of every start). Write such
 * characters in the sources as \u escapes.
 */
export function assertAscii(file, text) {
  const at = /[^\x00-\x7f]/.exec(text);
  if (at) throw new Error(`${file}: a non-ASCII character at offset ${at.index} (${JSON.stringify(text.slice(Math.max(0, at.index - 40), at.index + 10))}): write it as a \\u escape in the source`);
}
