/**
 * A module's dependencies: other modules in git repositories, each used at
 * the commit lading.json pins (never at what its branch names now). A
 * checkout is kept per commit in the store's private state, so a call whose
 * dependencies were fetched once asks no remote at all.
 */
import { existsSync } from "node:fs";
import { mkdir, rename, rm, utimes } from "node:fs/promises";
import { join } from "node:path";
import { LadingError, parseGitSource, type Client } from "../../index.js";
import type { ModuleDependency } from "./manifest.js";

/** Where lading keeps what it derives from modules (transpiled entries, checkouts). */
export function modulesStateDir(client: Client): string {
  return join(client.storePath, "lading", "modules");
}

/** The dependency's module folder at its pin, fetched on first use. */
export async function dependencyDir(client: Client, dep: ModuleDependency): Promise<string> {
  const spec = parseGitSource(dep.source);
  const checkout = join(modulesStateDir(client), "deps", dep.pin);
  const dir = spec.subdir ? join(checkout, spec.subdir) : checkout;
  if (existsSync(checkout)) {
    // Last use is the mtime: the store's collector frees what has been idle longest.
    await touch(checkout);
    return dir;
  }
  await mkdir(join(modulesStateDir(client), "deps"), { recursive: true });
  const tmp = `${checkout}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    await client.git(spec.url).commit(dep.pin).tree().export(tmp);
    // Another process may have made it meanwhile: the first rename wins, and both are the same commit.
    await rename(tmp, checkout).catch((err: NodeJS.ErrnoException) => {
      if (!existsSync(checkout)) throw err;
    });
  } catch (err) {
    if (err instanceof LadingError && (err.code === "NOT_FOUND" || /not our ref|not found|unadvertised|did not send all necessary objects|couldn't find remote ref/i.test(err.message))) {
      throw new LadingError("MODULE", `dependency "${dep.name}": its pin ${dep.pin} no longer exists at ${spec.url} (source ${dep.source}); run \`lading update ${dep.name}\` to pin what the source names now`, { cause: err });
    }
    throw err;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return dir;
}

/** The commit `source` names now: `lading install` and `lading update` pin it. */
export async function resolveSource(client: Client, source: string): Promise<string> {
  const spec = parseGitSource(source);
  const repo = client.git(spec.url);
  return (spec.ref ? repo.ref(spec.ref) : repo.head()).commit();
}

/** Marks a file or folder of the modules' state as used now (see the store's collection: least recently used goes first). */
export async function touch(path: string): Promise<void> {
  const now = new Date();
  await utimes(path, now, now).catch(() => {});
}
