// Bundles the library (`import … from "lading"`, "lading/containerfile",
// "lading/modules", and the CLI's build-module commands) into one ES module,
// dist/lib/lading.js, so that importing "lading" reads and compiles one file
// where dist/src is ~50 modules found, read, compiled and linked one by one
// (issue 17: ~10 ms of every script that imports it, and ~25 ms of
// connect() → withDirectory → digest, which loads ~40 more).
//
// Nothing loads sooner than from dist/src:
// - a module the sources load with import() stays lazy: esbuild wraps it in
//   an init function run by that import();
// - built-ins and packages are not `import`ed at the bundle's top (an ES
//   module's imports all load before it runs: zlib, child_process, http and
//   OpenTelemetry at every start-up). A built-in is process.getBuiltinModule(),
//   a package require() (what dist/src's import of a CommonJS package loads),
//   each run by the init of the first module that imports it; an import()
//   of a package stays an import().
// One file, not esbuild's split chunks: ~30 chunks for a plain import, and
// slower than one file whose unused functions V8 only pre-parses.
//
// The entries (dist/lib/index.js, containerfile.js, modules.js, cli.js) are
// small files over lading.js, so every entry, the CLI's build-module commands
// (bin/lading.js runs them from cli.js) and a build module's `import "lading"`
// (frontends/modules/transpile.js is pointed at these entries here) share one
// instance, hence one class set: a module's `dag` is the command's client, a
// user's Container is the one `lading/containerfile` returns. dist/src, run as
// it is, points its build modules at dist/src: each is whole on its own.
//
// Files found at run time next to a source file (workers, the wasm and native
// deflate, the exec helper, package.json) are still found in dist/src: every
// `import.meta.url` becomes the URL of the dist/src file it was written in.
// Stack frames name dist/lib/lading.js; its source map (chained through
// dist/src's) gives the TypeScript lines under --enable-source-maps.
//
// Called by scripts/bundle-cli.mjs (one build step for both bundles).
import { build } from "esbuild";
import { readFile, rm, writeFile } from "node:fs/promises";
import { builtinModules } from "node:module";
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
    ['new URL("../../index.js", import.meta.url)', 'new URL("./index.js", import.meta.url)'],
    ['new URL("../containerfile/index.js", import.meta.url)', 'new URL("./containerfile.js", import.meta.url)'],
  ],
};
/** Text that contains `import.meta.url` but is not this file's own (the banner of a transpiled build module). */
const KEEP = { "src/frontends/modules/transpile.js": ["__ladingRequire(import.meta.url)"] };

const BUILTINS = new Set(builtinModules);
const IDENT = /^[A-Za-z_$][\w$]*$/;

/** Bundles into dist/lib (`dist` is the dist folder); returns a line to print. */
export async function bundleLibrary(dist) {
  const root = resolve(dist, "..");
  const outdir = join(dist, "lib");
  const src = (rel) => join(dist, rel);
  await rm(outdir, { recursive: true, force: true });
  const plugin = {
    name: "lading-lib",
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (a) => {
        if (a.namespace === "lazy") return undefined;
        const name = a.path.replace(/^node:/, "");
        if (BUILTINS.has(name)) return { path: `node:${name}`, namespace: "lazy" };
        if (a.kind === "dynamic-import") return { path: a.path, external: true };
        return { path: a.path, namespace: "lazy" };
      });
      b.onLoad({ filter: /.*/, namespace: "lazy" }, (a) => {
        if (!a.path.startsWith("node:")) return { contents: `module.exports = __ladingRequire(${JSON.stringify(a.path)});`, loader: "js" };
        // An ES module, not CommonJS: importers get its bindings as they are, with no per-importer copy of its namespace.
        const names = Object.keys(process.getBuiltinModule(a.path)).filter((n) => n !== "default" && IDENT.test(n));
        const m = "__ladingBuiltin";
        return { contents: `const ${m} = process.getBuiltinModule(${JSON.stringify(a.path)});\nexport default ${m};\nexport const { ${names.join(", ")} } = ${m};\n`, loader: "js" };
      });
      b.onLoad({ filter: /[\\/]dist[\\/]src[\\/].*\.js$/ }, async (args) => {
        let text = await readFile(args.path, "utf8");
        const rel = relative(dist, args.path).split("\\").join("/");
        for (const [from, to] of REWRITES[rel] ?? []) {
          if (!text.includes(from)) throw new Error(`${args.path}: no ${from} to rewrite (renamed?)`);
          text = text.replaceAll(from, to);
        }
        // The rewritten URLs are the bundle's own: their import.meta.url stays that of dist/lib/lading.js.
        const kept = [...(KEEP[rel] ?? []), ...(REWRITES[rel] ?? []).map(([, to]) => to)];
        kept.forEach((k, i) => {
          if (!text.includes(k)) throw new Error(`${args.path}: no ${k} to keep (renamed?)`);
          text = text.replaceAll(k, `__LADING_KEEP_${i}__`);
        });
        text = text.replaceAll("import.meta.url", `new URL(${JSON.stringify(`../${rel}`)}, import.meta.url).href`);
        kept.forEach((k, i) => (text = text.replaceAll(`__LADING_KEEP_${i}__`, k)));
        // The source map comment stays: esbuild chains the bundle's map through dist/src's to the TypeScript.
        return { contents: text, loader: "js" };
      });
    },
  };
  const lazy = Object.entries(LAZY).map(([name, file]) => `${name}: () => import(${JSON.stringify(src(file))})`);
  const out = join(outdir, "lading.js");
  const result = await build({
    stdin: { contents: `export * from ${JSON.stringify(src("src/index.js"))};\nexport const ${LAZY_EXPORT} = { ${lazy.join(", ")} };\n`, resolveDir: root, sourcefile: "lading-entries.js" },
    outfile: out,
    absWorkingDir: root,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    // Names kept: error classes and stack frames read as in the sources.
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: "linked",
    sourcesContent: false,
    legalComments: "none",
    logLevel: "warning",
    metafile: true,
    banner: { js: 'import { createRequire as __ladingCreateRequire } from "node:module";\nconst __ladingRequire = __ladingCreateRequire(import.meta.url);' },
    plugins: [plugin],
  });
  const text = await readFile(out, "utf8");
  const stray = /^import\s*[^(]*?from\s*"(?!node:module")[^"]*";/m.exec(text);
  if (stray) throw new Error(`${out}: a static import was left at the bundle's top (${stray[0]}): it would load at every start-up`);

  // The entries: each takes its names from the bundle (the index's from its exports, less the loaders; the
  // others' read from dist/src itself, so an export added there is one here at the next build). A bundle older
  // than dist/src (a checkout rebuilt with tsc alone) would run old code: the entries then load dist/src, as
  // bin/lading.js does for the command.
  const own = result.metafile.outputs[relative(root, out)].exports.filter((n) => n !== LAZY_EXPORT);
  const entry = (names, fromBundle, source) =>
    [
      "// Made by scripts/bundle-lib.mjs: one instance of lading for every entry (see there); dist/src if the bundle is older.",
      'import { statSync } from "node:fs";',
      "let fresh = false;",
      "try {",
      '  fresh = statSync(new URL("./lading.js", import.meta.url)).mtimeMs >= statSync(new URL("../src/index.js", import.meta.url)).mtimeMs;',
      "} catch {}",
      `const m = fresh ? ${fromBundle} : await import(${JSON.stringify(`../${source}`)});`,
      `export const { ${names.join(", ")} } = m;`,
      "",
    ].join("\n");
  await writeFile(join(outdir, "index.js"), entry(own, 'await import("./lading.js")', "src/index.js"));
  for (const [name, file] of Object.entries(LAZY)) {
    const names = name === "cli" ? ["runCli"] : Object.keys(await import(pathToFileURL(src(file)).href));
    if (name === "cli" && !/^export (async )?function runCli\b/m.test(await readFile(src(file), "utf8"))) throw new Error(`${src(file)}: no runCli export`);
    await writeFile(join(outdir, `${name}.js`), entry(names, `await (await import("./lading.js")).${LAZY_EXPORT}.${name}()`, file));
  }
  const inputs = Object.keys(result.metafile.inputs).length;
  return `bundled ${inputs} files into ${relative(root, out)} (${(text.length / 1024).toFixed(0)} KiB)`;
}
