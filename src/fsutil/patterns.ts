/**
 * Docker's path patterns (.dockerignore, .containerignore, `exclude` and
 * `include` options), as moby/patternmatcher and its `ignorefile` reader
 * define them:
 *
 * - a pattern is cleaned (`filepath.Clean`), a leading "/" dropped, so
 *   patterns are always relative to the context root;
 * - `*` matches any run of characters but "/", `?` one character but "/",
 *   `[…]` a class, `\` escapes the next character;
 * - a double star matches any number of directories (zero included); at
 *   the end it matches everything below;
 * - a pattern matches a path when it matches the path itself or any of its
 *   parent directories (so `build` excludes `build/x/y`);
 * - patterns are read in order, `!pattern` re-includes, the last matching
 *   pattern wins.
 *
 * How one pattern is compiled and matched: pattern-compile.ts.
 */
import { LadingError } from "../errors.js";
import { compilePattern } from "./pattern-compile.js";

/** One compiled pattern. */
export interface CompiledPattern {
  /** The cleaned pattern without its "!" prefix. */
  readonly pattern: string;
  /** True for a "!" exception (re-includes what earlier patterns excluded). */
  readonly exception: boolean;
  /** Whether the pattern matches the path itself (parents are the caller's business). */
  readonly matches: (path: string) => boolean;
}

/**
 * Reads a .dockerignore/.containerignore file as docker does: a line whose
 * first character is "#" is a comment (only there: "a#b" is a pattern),
 * surrounding whitespace is trimmed, empty lines are skipped, a UTF-8 BOM is
 * dropped, and each pattern is cleaned with its leading "/" removed.
 */
export function parseIgnoreFile(text: string): string[] {
  const out: string[] = [];
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  for (const raw of lines) {
    if (raw.startsWith("#")) continue;
    const p = normalizePattern(raw);
    if (p !== undefined) out.push(p);
  }
  return out;
}

/** Trims, cleans and makes a pattern relative, keeping its "!" mark; undefined for an empty one. */
export function normalizePattern(raw: string): string | undefined {
  let p = raw.trim();
  if (p === "") return undefined;
  const exception = p.startsWith("!");
  if (exception) p = p.slice(1).trim();
  if (p.length > 0) {
    p = cleanPath(p);
    if (p.length > 1 && p.startsWith("/")) p = p.slice(1);
  }
  return exception ? "!" + p : p;
}

/** Go's `path.Clean`: collapses "//", removes "." and resolves ".." lexically. */
export function cleanPath(p: string): string {
  if (p === "") return ".";
  const rooted = p.startsWith("/");
  const parts: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (parts.length && parts[parts.length - 1] !== "..") parts.pop();
      else if (!rooted) parts.push("..");
      continue;
    }
    parts.push(seg);
  }
  const body = parts.join("/");
  if (rooted) return "/" + body;
  return body === "" ? "." : body;
}

/**
 * Compiles patterns (raw or already normalised) in order; a malformed one,
 * or a lone "!", is an INVALID_ARGUMENT error (pattern-compile.ts).
 */
export function compilePatterns(patterns: readonly string[]): CompiledPattern[] {
  const out: CompiledPattern[] = [];
  for (const raw of patterns) {
    const norm = normalizePattern(raw);
    if (norm === undefined) continue;
    const exception = norm.startsWith("!");
    const pattern = exception ? norm.slice(1) : norm;
    if (exception && pattern === "") throw new LadingError("INVALID_ARGUMENT", `illegal exclusion pattern ${JSON.stringify(raw)}: a "!" needs a pattern after it (docker refuses it too)`);
    out.push({ pattern, exception, matches: compilePattern(pattern) });
  }
  return out;
}

/** Whether one compiled pattern matches `path` or one of its parent directories. */
function matchesOrParent(p: CompiledPattern, path: string): boolean {
  if (p.matches(path)) return true;
  const parts = path.split("/");
  for (let i = 1; i < parts.length; i++) if (p.matches(parts.slice(0, i).join("/"))) return true;
  return false;
}

/** Strips "./" and trailing "/" so callers may pass paths in either spelling. */
function relative(relPath: string): string {
  const c = cleanPath(relPath);
  return c.startsWith("/") ? c.slice(1) : c;
}

/**
 * Docker's exclude decision (`MatchesOrParentMatches`): true = excluded.
 * `isDir` does not change the answer (docker patterns have no trailing-slash
 * "directory only" form) but is part of the signature walkers use.
 */
export function createMatcher(patterns: string[]): (relPath: string, isDir: boolean) => boolean {
  const compiled = compilePatterns(patterns);
  return (relPath: string, _isDir: boolean) => {
    const path = relative(relPath);
    let matched = false;
    for (const p of compiled) {
      // As docker: an exclusion cannot change an unmatched path, an inclusion not a matched one.
      if (p.exception !== matched) continue;
      if (matchesOrParent(p, path)) matched = !p.exception;
    }
    return matched;
  };
}

/**
 * Whether a walker must descend into the excluded directory `dirRelPath`:
 * true when some "!" exception could match a path below it. Compares the
 * exception's leading components with the directory's, one by one; a `**`
 * component may match anything, so it answers true.
 */
export function mayContainIncluded(patterns: readonly string[], dirRelPath: string): boolean {
  const dir = relative(dirRelPath).split("/");
  for (const p of compilePatterns(patterns)) {
    if (!p.exception) continue;
    if (couldMatchBelow(p.pattern, dir)) return true;
  }
  return false;
}

/** Whether `pattern` could match some path strictly below the directory given by `dirParts`. */
export function couldMatchBelow(pattern: string, dirParts: readonly string[]): boolean {
  const parts = pattern.split("/");
  for (let i = 0; i < dirParts.length; i++) {
    const comp = parts[i];
    if (comp === undefined) return false;
    if (comp.includes("**")) return true;
    if (!compilePattern(comp)(dirParts[i]!)) return false;
  }
  return parts.length > dirParts.length;
}

/**
 * The matcher for `include` options (buildkit's IncludePatterns): true when
 * the path, or one of its parents, matches one of the patterns. A directory
 * that could only hold matches (`src` for `src/*.ts`) answers false; walkers
 * descend into every directory and keep the ones that lead to kept files.
 */
export function createIncludeMatcher(patterns: string[]): (relPath: string, isDir: boolean) => boolean {
  const compiled = compilePatterns(patterns).filter((p) => !p.exception);
  const exceptions = compilePatterns(patterns).filter((p) => p.exception);
  return (relPath: string, _isDir: boolean) => {
    const path = relative(relPath);
    if (!compiled.some((p) => matchesOrParent(p, path))) return false;
    return !exceptions.some((p) => matchesOrParent(p, path));
  };
}

/** Whether an include pattern could match below `dirRelPath` (the walker must descend). */
export function mayContainIncludedByInclude(patterns: readonly string[], dirRelPath: string): boolean {
  const dir = relative(dirRelPath).split("/");
  return compilePatterns(patterns).some((p) => !p.exception && couldMatchBelow(p.pattern, dir));
}
