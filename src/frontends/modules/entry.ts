/**
 * Where a module's code starts: `entry` of lading.json (its custom entry
 * point), else `index.ts`, else `src/index.ts`. Kept inside the module's
 * folder, so a manifest cannot point lading at files beside it.
 */
import { existsSync, statSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { LadingError } from "../../index.js";
import { MANIFEST_FILE, type ModuleManifest } from "./manifest.js";

export const DEFAULT_ENTRIES = ["index.ts", "src/index.ts"] as const;
export const ENTRY_EXTENSIONS = [".ts", ".mts", ".js", ".mjs"] as const;

/** The entry file's absolute path. */
export function resolveEntry(dir: string, m: ModuleManifest): string {
  const where = join(dir, MANIFEST_FILE);
  if (m.entry) {
    if (isAbsolute(m.entry) || relative(dir, resolve(dir, m.entry)).startsWith("..")) throw new LadingError("MODULE", `${where}: "entry" ${m.entry} is outside the module; give a path inside ${dir}`);
    if (!ENTRY_EXTENSIONS.some((e) => m.entry!.endsWith(e))) throw new LadingError("MODULE", `${where}: "entry" ${m.entry} must end in ${ENTRY_EXTENSIONS.join(", ")}`);
    const file = resolve(dir, m.entry);
    if (!existsSync(file) || !statSync(file).isFile()) throw new LadingError("MODULE", `${where}: entry ${m.entry} not found (looked for ${file})`);
    return file;
  }
  for (const e of DEFAULT_ENTRIES) {
    const file = join(dir, e);
    if (existsSync(file)) return file;
  }
  throw new LadingError("MODULE", `${where}: entry not found: no "entry" given and neither ${DEFAULT_ENTRIES.join(" nor ")} exists in ${dir}; add one, or set "entry"`);
}
