/**
 * `lading install` and `lading update`: a dependency's source is kept
 * exactly as the user wrote it (`…#main`); its pin is the commit that source
 * named when installed or last updated, and calls use only the pin.
 */
import { resolve } from "node:path";
import { LadingError, parseGitSource, type Client } from "../../index.js";
import { dependencyDir, resolveSource } from "./deps.js";
import { resolveEntry } from "./entry.js";
import { readManifest, writeManifest, type ModuleDependency } from "./manifest.js";
import { writeTsconfig } from "./init.js";

/** Adds (or re-pins) the dependency `source` of the module in `dir`; returns it as written. */
export async function installDependency(client: Client, dir: string, source: string, name?: string): Promise<ModuleDependency> {
  dir = resolve(dir);
  const manifest = await readManifest(dir);
  const depName = name ?? defaultName(source);
  if (!/^[a-z][a-z0-9-]*$/.test(depName)) throw new LadingError("INVALID_ARGUMENT", `dependency name "${depName}": use lower-case letters, digits and dashes (--name)`);
  const pin = await resolveSource(client, source);
  const dep: ModuleDependency = { name: depName, source, pin };
  // It must be a module: fetch it now, so a wrong source fails here rather than at the first call.
  const depDir = await dependencyDir(client, dep);
  const depManifest = await readManifest(depDir).catch((err: unknown) => {
    throw new LadingError("INVALID_ARGUMENT", `${source} is not a lading module: no lading.json at commit ${pin}` + (parseGitSource(source).subdir ? "" : " (a module in a sub-folder is given as URL#REF:SUBDIR)"), { cause: err });
  });
  const depEntry = resolveEntry(depDir, depManifest);
  const others = manifest.dependencies.filter((d) => d.name !== depName);
  const next = { ...manifest, dependencies: [...others, dep].sort((a, b) => (a.name < b.name ? -1 : 1)) };
  await writeManifest(dir, next);
  await refreshTsconfig(client, dir, next, { [depName]: depEntry });
  return dep;
}

/** Moves the pins of `names` (all when empty) to what their sources name now; returns each with its old pin. */
export async function updateDependencies(client: Client, dir: string, names: string[] = []): Promise<Array<ModuleDependency & { was: string }>> {
  dir = resolve(dir);
  const manifest = await readManifest(dir);
  for (const n of names) if (!manifest.dependencies.some((d) => d.name === n)) throw new LadingError("INVALID_ARGUMENT", `${n} is not a dependency of module ${manifest.name}` + (manifest.dependencies.length ? ` (its dependencies: ${manifest.dependencies.map((d) => d.name).join(", ")})` : ""));
  const changed: Array<ModuleDependency & { was: string }> = [];
  const deps: ModuleDependency[] = [];
  for (const d of manifest.dependencies) {
    if (names.length && !names.includes(d.name)) {
      deps.push(d);
      continue;
    }
    const pin = await resolveSource(client, d.source);
    deps.push({ ...d, pin });
    changed.push({ ...d, pin, was: d.pin });
  }
  const next = { ...manifest, dependencies: deps };
  const entries: Record<string, string> = {};
  for (const d of deps) entries[d.name] = resolveEntry(await dependencyDir(client, d), await readManifest(await dependencyDir(client, d)));
  await writeManifest(dir, next);
  await refreshTsconfig(client, dir, next, entries);
  return changed;
}

async function refreshTsconfig(client: Client, dir: string, manifest: Parameters<typeof writeTsconfig>[1], known: Record<string, string>): Promise<void> {
  const entries: Record<string, string> = { ...known };
  for (const d of manifest.dependencies) if (!entries[d.name]) entries[d.name] = resolveEntry(await dependencyDir(client, d), await readManifest(await dependencyDir(client, d)));
  await writeTsconfig(dir, manifest, entries);
}

/** `https://host/team/node-tools.git#main:sub` → `node-tools`. */
function defaultName(source: string): string {
  const { url, subdir } = parseGitSource(source);
  const last = (subdir ?? url).replace(/\/+$/, "").split(/[/:]/).pop() ?? "";
  return last.replace(/\.git$/, "").toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^[^a-z]+/, "");
}
