/**
 * Loading a module: lading.json, the entry, the dependencies at their pins,
 * then the transpiled entry and its schema, from the cache when every file
 * they were made from still has the same content (sha256), so a warm call
 * loads neither esbuild nor the TypeScript compiler.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Client } from "../../index.js";
import { writeFileAtomic } from "../../fsutil/atomic.js";
import { dependencyDir, modulesStateDir, touch } from "./deps.js";
import type { ReadSignatures } from "./signatures.js";
import { resolveEntry } from "./entry.js";
import { MANIFEST_FILE, pascalCase, readManifest, type ModuleManifest } from "./manifest.js";
import type { ModuleSchema } from "./schema.js";
import { LADING_ENTRIES, LADING_TYPES } from "./transpile.js";

export interface LoadedModule {
  dir: string;
  manifest: ModuleManifest;
  entry: string;
  schema: ModuleSchema;
  /** The transpiled entry's exports. */
  exports: Record<string, unknown>;
  /** Folders whose stack frames are the module's own (itself and its dependencies' checkouts). */
  ownDirs: string[];
}

interface CacheRecord {
  /** Absolute path → sha256 of its content, for every file the code and schema came from. */
  inputs: Record<string, string>;
  code: string;
  schema: ModuleSchema;
}

// Bumped when what is cached changes shape or meaning.
const CACHE_FORMAT = 2; // 2: Service is an API type

/** Loads the module in `dir` (a folder with lading.json). */
export async function loadModule(client: Client, dir: string): Promise<LoadedModule> {
  dir = resolve(dir);
  const manifest = await readManifest(dir);
  const entry = resolveEntry(dir, manifest);
  const deps: Record<string, string> = {};
  const ownDirs = [dir];
  for (const dep of manifest.dependencies) {
    const depDir = await dependencyDir(client, dep);
    deps[dep.name] = resolveEntry(depDir, await readManifest(depDir));
    ownDirs.push(depDir);
  }
  const state = modulesStateDir(client);
  const key = sha256(JSON.stringify([CACHE_FORMAT, dir, entry, LADING_ENTRIES, deps]));
  const recordFile = join(state, "entries", `${key}.json`);
  let record = await readRecord(recordFile);
  if (record) await touch(recordFile);
  else {
    record = await build(dir, manifest, entry, deps, join(state, "code", "entry.mjs"));
    await mkdir(join(state, "entries"), { recursive: true });
    await writeFileAtomic(recordFile, JSON.stringify(record));
  }
  // Named by content: a changed module is a new URL, so a long-lived process never runs a stale import.
  const codeFile = join(state, "code", `${sha256(record.code)}.mjs`);
  await mkdir(join(state, "code"), { recursive: true });
  await readFile(codeFile).then(() => touch(codeFile), () => writeFileAtomic(codeFile, record.code));
  process.setSourceMapsEnabled(true);
  const exports = (await import(pathToFileURL(codeFile).href)) as Record<string, unknown>;
  return { dir, manifest, entry, schema: record.schema, exports, ownDirs };
}

async function build(dir: string, manifest: ModuleManifest, entry: string, deps: Record<string, string>, outfile: string): Promise<CacheRecord> {
  const { transpile } = await import("./transpile.js");
  // esbuild works in its own process: it transpiles while the TypeScript compiler (synchronous, here) reads the signatures.
  const transpiled = transpile(entry, dir, deps, outfile, manifest.name);
  transpiled.catch(() => {});
  const { readSignatures } = await import("./signatures.js");
  let signatures: ReadSignatures;
  try {
    signatures = readSignatures({ entry, dir, object: manifest.object, defaultObject: pascalCase(manifest.name), ladingTypes: LADING_TYPES, dependencies: deps });
  } catch (err) {
    // Code that does not compile says so at its line, before any complaint about its object.
    await transpiled;
    throw err;
  }
  const { code, inputs } = await transpiled;
  const { schema, files } = signatures;
  const hashes: Record<string, string> = {};
  for (const f of new Set([join(dir, MANIFEST_FILE), ...inputs, ...files])) hashes[f] = sha256(await readFile(f));
  return { inputs: hashes, code, schema };
}

/** The cached record, if every input still hashes the same. */
async function readRecord(file: string): Promise<CacheRecord | undefined> {
  let record: CacheRecord;
  try {
    record = JSON.parse(await readFile(file, "utf8")) as CacheRecord;
  } catch {
    return undefined;
  }
  for (const [path, hash] of Object.entries(record.inputs)) {
    const now = await readFile(path).then(sha256, () => undefined);
    if (now !== hash) return undefined;
  }
  return record;
}

function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}
