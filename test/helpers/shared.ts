/**
 * External references the suite checks against (OCI JSON schemas, BuildKit's
 * shell vectors) are not ours to copy into the repository: they live in
 * `shared/` beside it (`<repo>/../shared`), and that is the only place they
 * are looked for. In someone's own clone they may be missing: then exactly
 * the tests that need one skip, saying what is missing and where it was
 * looked for. Under CI=true a missing reference is a failure, never a skip.
 * bench/shared.mjs applies the same rule to the benchmarks.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: the nearest directory above this file holding package.json (works from test/ and dist/test/). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
}

/** The repository this suite belongs to (its caches go in `.cache/` there, gitignored). */
export const REPO_ROOT = repoRoot();
export const SHARED_DIR = join(REPO_ROOT, "..", "shared");

function missing(rel: string): string | undefined {
  const path = join(SHARED_DIR, rel);
  return existsSync(path) ? undefined : `the external reference shared/${rel} is missing: looked for ${path} (shared/ beside the repository)`;
}

/** `<repo>/../shared/<rel>`; throws naming the missing reference and where it was looked for. */
export function sharedPath(rel: string): string {
  const why = missing(rel);
  if (why) throw new Error(why);
  return join(SHARED_DIR, rel);
}

/**
 * For a test's `skip` option: why to skip when `shared/<rel>` is missing,
 * else false. Under CI=true always false, so the test runs and its
 * `sharedPath()` fails saying what is missing.
 */
export function skipWithoutShared(rel: string): string | false {
  if (process.env.CI === "true") return false;
  return missing(rel) ?? false;
}
