/**
 * One docker path pattern, compiled as moby/patternmatcher compiles it
 * (`New` and `Pattern.compile`), so that a context holds the same files
 * for lading as for docker, quirks included:
 *
 * - a pattern with no wildcard is compared as a string; `dir/**` is a
 *   prefix test ("dir/…"); one that starts with a double star and has no
 *   other wildcard is a suffix test (so `**file` matches "dir/myfile");
 * - everything else becomes a regular expression: `*` any run of
 *   characters but "/", `?` one character but "/", a double star followed
 *   by more pattern "any run of directories"; `[…]` classes and `\` escapes
 *   pass through; only `.+()|{}$` are escaped (so a `^` outside a class is
 *   an anchor, and `a^b` matches nothing, as in docker);
 * - a pattern that Go's filepath.Match calls malformed (an unclosed class,
 *   a trailing `\`, `[-]`…) is refused, and so is a lone "!" exception.
 *
 * docker fails a build on such a pattern when a path is first checked
 * against it; lading fails when the patterns are compiled, before any file
 * is read.
 */
import { LadingError } from "../errors.js";

/** Characters regexp syntax gives a meaning that filepath.Match does not: moby escapes exactly these. */
const ESCAPED = new Set([".", "+", "(", ")", "|", "{", "}", "$"]);

/** moby's `Pattern.match` for the cleaned pattern `pattern` (no "!"): whether it matches `path` itself. */
export function compilePattern(pattern: string): (path: string) => boolean {
  checkSyntax(pattern);
  const chars = Array.from(pattern);
  let re = "^";
  let kind: "exact" | "prefix" | "suffix" | "regexp" = "exact";
  for (let i = 0, token = 0; i < chars.length; i++, token++) {
    const ch = chars[i]!;
    if (ch === "*") {
      if (chars[i + 1] === "*") {
        i++;
        if (chars[i + 1] === "/") i++; // "**/" is "**"
        if (i + 1 >= chars.length) {
          // A double star at the end takes everything below, as in .gitignore.
          if (kind === "exact") kind = "prefix";
          else {
            re += ".*";
            kind = "regexp";
          }
        } else {
          re += "(.*/)?";
          kind = "regexp";
        }
        if (token === 0) kind = "suffix";
      } else {
        re += "[^/]*";
        kind = "regexp";
      }
    } else if (ch === "?") {
      re += "[^/]";
      kind = "regexp";
    } else if (ESCAPED.has(ch)) re += "\\" + ch;
    else if (ch === "\\") {
      // checkSyntax refused a trailing "\": one always has a character to escape.
      re += "\\" + chars[++i]!;
      kind = "regexp";
    } else if (ch === "[" || ch === "]") {
      re += ch;
      kind = "regexp";
    } else re += ch;
  }
  switch (kind) {
    case "exact":
      return (path) => path === pattern;
    case "prefix": {
      const prefix = pattern.slice(0, -2);
      return (path) => path.startsWith(prefix);
    }
    case "suffix": {
      const suffix = pattern.slice(2);
      // `**/foo` also matches "foo" itself.
      return (path) => path.endsWith(suffix) || (suffix.startsWith("/") && path === suffix.slice(1));
    }
    case "regexp": {
      let regexp: RegExp;
      try {
        regexp = new RegExp(re + "$");
      } catch (err) {
        // Go's RE2 refuses what filepath.Match let through (a range out of order: "[Local-Only]").
        throw badPattern(pattern, (err as Error).message, err);
      }
      return (path) => regexp.test(path);
    }
  }
}

function badPattern(pattern: string, why: string, cause?: unknown): LadingError {
  return new LadingError("INVALID_ARGUMENT", `pattern ${JSON.stringify(pattern)} is malformed (${why}); docker refuses it too: fix or remove it`, cause === undefined ? undefined : { cause });
}

/** The syntax check moby makes with `filepath.Match(pattern, ".")`: Go's matchChunk, run on every chunk of the pattern. */
function checkSyntax(pattern: string): void {
  const chars = Array.from(pattern);
  let i = 0;
  const fail = (why: string): never => {
    throw badPattern(pattern, why);
  };
  // getEsc: one class character, maybe escaped; a class must go on after it.
  const classChar = () => {
    const c = chars[i];
    if (c === undefined || c === "-" || c === "]") fail(c === undefined ? "unclosed [ class" : `"${c}" where a class character was expected`);
    if (c === "\\") {
      i++;
      if (chars[i] === undefined) fail("unclosed [ class");
    }
    i++;
    if (chars[i] === undefined) fail("unclosed [ class");
  };
  while (i < chars.length) {
    const c = chars[i]!;
    if (c === "[") {
      i++;
      if (chars[i] === "^") i++;
      for (let ranges = 0; ; ranges++) {
        if (chars[i] === "]" && ranges > 0) {
          i++;
          break;
        }
        classChar();
        if (chars[i] === "-") {
          i++;
          classChar();
        }
      }
    } else if (c === "\\") {
      if (i + 1 >= chars.length) fail('a trailing "\\" escapes nothing');
      i += 2;
    } else i++;
  }
}
