// External references (the benchmark payload generator) live in shared/
// beside the repository, never in it, and are looked for only there: the
// rule test/helpers/shared.ts applies to the suite.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("..", import.meta.url));

/** `<repo>/../shared/<rel>`; throws naming the missing reference and where it was looked for. */
export function sharedPath(rel) {
  const path = join(repo, "..", "shared", rel);
  if (!existsSync(path)) throw new Error(`the external reference shared/${rel} is missing: looked for ${path} (shared/ beside the repository)`);
  return path;
}
