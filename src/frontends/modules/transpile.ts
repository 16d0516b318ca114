/**
 * Turns a module's entry into one ES module file Node runs as it is, with
 * esbuild: TypeScript stripped, its relative imports and npm packages
 * bundled in, `lading:NAME` bundled from the dependency's pinned checkout,
 * and `lading` (and `lading/containerfile`) left as imports of the running
 * lading, so a module never installs lading and shares the session's
 * classes. Source maps are inlined so a throw points at the module's lines.
 */
import { fileURLToPath, pathToFileURL } from "node:url";
import { relative, resolve } from "node:path";
import type { Plugin } from "esbuild";
import { LadingError } from "../../index.js";

/** The running lading's public entries, as the module's imports of them resolve. */
export const LADING_ENTRIES: Record<string, string> = {
  lading: fileURLToPath(new URL("../../index.js", import.meta.url)),
  "lading/containerfile": fileURLToPath(new URL("../containerfile/index.js", import.meta.url)),
};
export const LADING_TYPES = fileURLToPath(new URL("../../index.d.ts", import.meta.url));

export interface Transpiled {
  code: string;
  /** Absolute paths of every file bundled. */
  inputs: string[];
}

/** Bundles `entry`; `outfile` is where the code will be written (source map paths are relative to it). */
export async function transpile(entry: string, dir: string, dependencies: Record<string, string>, outfile: string, moduleName: string): Promise<Transpiled> {
  const esbuild = await import("esbuild");
  const plugin: Plugin = {
    name: "lading",
    setup(build) {
      build.onResolve({ filter: /^lading(\/containerfile)?$/ }, (a) => ({ path: pathToFileURL(LADING_ENTRIES[a.path]!).href, external: true }));
      build.onResolve({ filter: /^lading:/ }, (a) => {
        const name = a.path.slice("lading:".length);
        const file = dependencies[name];
        if (file) return { path: file };
        const known = Object.keys(dependencies);
        return { errors: [{ text: `"${a.path}": ${name} is not a dependency of module ${moduleName}` + (known.length ? ` (its dependencies: ${known.join(", ")})` : "") + `; add it with \`lading install SOURCE --name ${name}\`` }] };
      });
    },
  };
  try {
    const result = await esbuild.build({
      entryPoints: [entry],
      absWorkingDir: dir,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      outfile,
      write: false,
      sourcemap: "inline",
      sourcesContent: false,
      metafile: true,
      logLevel: "silent",
      plugins: [plugin],
      // Bundled CommonJS packages may call require(): give them one.
      banner: { js: `import { createRequire as __ladingRequire } from "node:module"; const require = __ladingRequire(import.meta.url);` },
    });
    const code = result.outputFiles.find((f) => f.path.endsWith(".mjs") || f.path.endsWith(".js"))!.text;
    const inputs = Object.keys(result.metafile.inputs).filter((p) => !p.includes(":")).map((p) => resolve(dir, p));
    return { code, inputs };
  } catch (err) {
    const errors = (err as { errors?: Array<{ text: string; location?: { file: string; line: number; column: number; lineText: string } | null }> }).errors;
    if (!errors?.length) throw err;
    const lines = errors.map((e) => (e.location ? `${relative(process.cwd(), resolve(dir, e.location.file)) || e.location.file}:${e.location.line}:${e.location.column + 1}: ${e.text}\n    ${e.location.lineText}` : e.text));
    throw new LadingError("MODULE", `module ${moduleName} does not compile:\n${lines.join("\n")}`);
  }
}
