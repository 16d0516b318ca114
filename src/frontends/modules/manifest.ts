/**
 * A module's `lading.json`: its name, entry point, object, and the other
 * modules it depends on (each source kept exactly as the user gave it,
 * beside the commit it was pinned to). Read strictly: an unknown key or a
 * wrong type is an error naming the file, never silently ignored.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { LadingError } from "../../index.js";
import { writeFileAtomic } from "../../fsutil/atomic.js";

export const MANIFEST_FILE = "lading.json";

/** A module this one imports (`import { X } from "lading:NAME"`). */
export interface ModuleDependency {
  name: string;
  /** As given to `lading install` (`https://host/tools.git#main:sub`), never rewritten. */
  source: string;
  /** The 40-hex commit calls use; `lading update` moves it. */
  pin: string;
}

export interface ModuleManifest {
  name: string;
  /** The entry file, relative to the module; default index.ts, then src/index.ts. */
  entry?: string;
  /** The exported class whose methods are the functions; default the module's name in PascalCase, else its exported functions. */
  object?: string;
  dependencies: ModuleDependency[];
}

const NAME = /^[a-z][a-z0-9-]*$/;
const KEYS = new Set(["name", "entry", "object", "dependencies"]);
const DEP_KEYS = new Set(["name", "source", "pin"]);

/** Reads and checks `DIR/lading.json`. */
export async function readManifest(dir: string): Promise<ModuleManifest> {
  const file = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new LadingError("MODULE", `${file}: no module here (no ${MANIFEST_FILE}); run \`lading init\` to make one, or pass -m DIR`);
    throw err;
  }
  return parseManifest(text, file);
}

/** Checks a manifest's text; `file` names it in errors. */
export function parseManifest(text: string, file: string): ModuleManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new LadingError("MODULE", `${file}: not valid JSON: ${(err as Error).message}`);
  }
  const bad = (what: string): never => {
    throw new LadingError("MODULE", `${file}: ${what}`);
  };
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) bad("expected an object such as {\"name\": \"ci\"}");
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.has(k)) bad(`unknown key "${k}" (known: ${[...KEYS].join(", ")})`);
  if (typeof o.name !== "string" || !NAME.test(o.name)) bad(`"name" must be lower-case letters, digits and dashes, starting with a letter (got ${JSON.stringify(o.name)})`);
  for (const k of ["entry", "object"] as const) if (o[k] !== undefined && (typeof o[k] !== "string" || !o[k])) bad(`"${k}" must be a non-empty string`);
  const deps = o.dependencies ?? [];
  if (!Array.isArray(deps)) bad(`"dependencies" must be a list`);
  const seen = new Set<string>();
  const dependencies = (deps as unknown[]).map((d, i) => {
    if (!d || typeof d !== "object") bad(`dependencies[${i}] must be an object {name, source, pin}`);
    const dep = d as Record<string, unknown>;
    for (const k of Object.keys(dep)) if (!DEP_KEYS.has(k)) bad(`dependencies[${i}]: unknown key "${k}"`);
    if (typeof dep.name !== "string" || !NAME.test(dep.name)) bad(`dependencies[${i}]: "name" must be lower-case letters, digits and dashes`);
    if (seen.has(dep.name as string)) bad(`dependencies[${i}]: "${dep.name}" is listed twice`);
    seen.add(dep.name as string);
    if (typeof dep.source !== "string" || !dep.source) bad(`dependencies[${i}] (${dep.name}): "source" must be a git URL`);
    if (typeof dep.pin !== "string" || !/^[0-9a-f]{40}$/.test(dep.pin)) bad(`dependencies[${i}] (${dep.name}): "pin" must be a full 40-hex commit; run \`lading update ${dep.name}\``);
    return { name: dep.name as string, source: dep.source as string, pin: dep.pin as string };
  });
  return {
    name: o.name as string,
    ...(o.entry !== undefined ? { entry: o.entry as string } : {}),
    ...(o.object !== undefined ? { object: o.object as string } : {}),
    dependencies,
  };
}

/** Writes `DIR/lading.json` whole (temp file and rename: a crash leaves the old one). */
export async function writeManifest(dir: string, m: ModuleManifest): Promise<void> {
  const out: Record<string, unknown> = { name: m.name };
  if (m.entry) out.entry = m.entry;
  if (m.object) out.object = m.object;
  if (m.dependencies.length) out.dependencies = m.dependencies;
  await writeFileAtomic(join(dir, MANIFEST_FILE), JSON.stringify(out, null, 2) + "\n");
}

/** `node-tools` → `NodeTools`: the default object of a module. */
export function pascalCase(name: string): string {
  return name.split(/[-_]/).filter(Boolean).map((p) => p[0]!.toUpperCase() + p.slice(1)).join("");
}
