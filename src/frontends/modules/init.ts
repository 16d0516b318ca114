/**
 * `lading init`: a new module an editor type-checks at once: lading.json, a
 * starter entry with one documented function, and a tsconfig.json whose
 * `paths` point `lading` at the running lading's declarations (the module
 * never installs lading) and `lading:NAME` at each dependency's checkout.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import { LadingError } from "../../index.js";
import { writeFileAtomic } from "../../fsutil/atomic.js";
import { MANIFEST_FILE, pascalCase, writeManifest, type ModuleManifest } from "./manifest.js";
import { LADING_TYPES } from "./transpile.js";

export interface InitOpts {
  name?: string;
  entry?: string;
}

/** Makes a module in `dir`; returns the files written (relative to `dir`). */
export async function initModule(dir: string, opts: InitOpts = {}): Promise<string[]> {
  dir = resolve(dir);
  if (existsSync(join(dir, MANIFEST_FILE))) throw new LadingError("INVALID_ARGUMENT", `${join(dir, MANIFEST_FILE)} already exists; this is a module already`);
  const name = opts.name ?? basename(dir).toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^[^a-z]+/, "");
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new LadingError("INVALID_ARGUMENT", `module name "${name}": use lower-case letters, digits and dashes, starting with a letter (--name)`);
  const entry = opts.entry ?? "index.ts";
  if (!/\.(ts|mts|js|mjs)$/.test(entry) || relative(dir, resolve(dir, entry)).startsWith("..")) throw new LadingError("INVALID_ARGUMENT", `--entry ${entry}: give a .ts, .mts, .js or .mjs path inside the module`);
  const manifest: ModuleManifest = { name, ...(opts.entry ? { entry } : {}), dependencies: [] };
  const written: string[] = [];
  await mkdir(dir, { recursive: true });
  const entryFile = resolve(dir, entry);
  if (!existsSync(entryFile)) {
    await mkdir(dirname(entryFile), { recursive: true });
    await writeFileAtomic(entryFile, starter(pascalCase(name), /\.m?js$/.test(entry)));
    written.push(entry);
  }
  await writeManifest(dir, manifest);
  written.push(MANIFEST_FILE);
  await writeTsconfig(dir, manifest, {});
  written.push("tsconfig.json");
  return written;
}

/**
 * Writes (or updates the `paths` of) DIR/tsconfig.json; other settings a user
 * made stay. `deps`: dependency name → its entry file.
 */
export async function writeTsconfig(dir: string, manifest: ModuleManifest, deps: Record<string, string>): Promise<void> {
  const file = join(dir, "tsconfig.json");
  let config: { compilerOptions?: Record<string, unknown>; [k: string]: unknown } = {
    compilerOptions: { target: "ES2022", module: "ESNext", moduleResolution: "Bundler", strict: true, noEmit: true, allowImportingTsExtensions: true, skipLibCheck: true },
    include: ["**/*.ts", "**/*.mts"],
  };
  if (existsSync(file)) {
    try {
      config = JSON.parse(await readFile(file, "utf8")) as typeof config;
    } catch (err) {
      throw new LadingError("MODULE", `${file}: not plain JSON (${(err as Error).message}); add "paths" for "lading" yourself, or remove the file`);
    }
  }
  const paths: Record<string, string[]> = { lading: [LADING_TYPES] };
  for (const dep of manifest.dependencies) if (deps[dep.name]) paths[`lading:${dep.name}`] = [deps[dep.name]!];
  config.compilerOptions = { ...config.compilerOptions, paths };
  await writeFileAtomic(file, JSON.stringify(config, null, 2) + "\n");
}

function starter(cls: string, js: boolean): string {
  const t = (ts: string, jsText = "") => (js ? jsText : ts);
  return `import { dag${js ? "" : ", type Container, type Directory"} } from "lading";

/** ${cls}: this module's functions (\`lading functions\` lists them). */
export class ${cls} {
  /**
   * Copies the sources into a busybox image and lists them.
   * @param ${t("", "{import(\"lading\").Directory} ")}src The sources (\`--src .\` on the command line).
   * @param image The base image.
   */
  build(src${t(": Directory")}, image = "busybox:1.36")${t(": Container")} {
    return dag.container().from(image).withDirectory("/src", src).withWorkdir("/src").withExec(["ls", "-la"]);
  }
}
`;
}
