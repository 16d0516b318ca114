/** Which ignore file applies to a build, in BuildKit's and podman's order of preference. */
import { readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { LadingError } from "../../errors.js";
import { compilePatterns, parseIgnoreFile } from "../../fsutil/patterns.js";

/**
 * The exclude patterns of the build context: `<Containerfile>.containerignore`
 * or `<Containerfile>.dockerignore` beside the build file (BuildKit's
 * per-file ignore), else `.containerignore` or `.dockerignore` at the
 * context root. The first file found wins; none → no patterns.
 */
export async function contextExcludes(file: string, context: string): Promise<{ patterns: string[]; from?: string }> {
  const candidates = [
    join(dirname(file), `${basename(file)}.containerignore`),
    join(dirname(file), `${basename(file)}.dockerignore`),
    join(context, ".containerignore"),
    join(context, ".dockerignore"),
  ];
  for (const c of candidates) {
    let text: string;
    try {
      text = await readFile(c, "utf8");
    } catch {
      continue;
    }
    const patterns = parseIgnoreFile(text);
    try {
      // A malformed pattern fails the build now, naming its file, as docker fails it.
      compilePatterns(patterns);
    } catch (err) {
      if (err instanceof LadingError) throw new LadingError(err.code, `${c}: ${err.message}`, { cause: err });
      throw err;
    }
    return { patterns, from: c };
  }
  return { patterns: [] };
}
