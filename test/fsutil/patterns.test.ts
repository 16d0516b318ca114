import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { compilePatterns, createIncludeMatcher, createMatcher, mayContainIncluded, parseIgnoreFile } from "../../src/fsutil/patterns.js";
import { LadingError } from "../../src/errors.js";
import { contextExcludes } from "../../src/frontends/containerfile/context.js";
import { tempDir } from "../helpers/tmp.js";

// The vectors below are moby/patternmatcher's own tests (patternmatcher_test.go
// and ignorefile/ignorefile_test.go, github.com/moby/patternmatcher), restated
// as data, on Unix: what docker puts in and leaves out of a build context.

const compiled = (pattern: string) => {
  const [p] = compilePatterns([pattern]);
  assert.ok(p, pattern);
  return p;
};

// TestMatches: "exact" = the pattern matches the path itself (MatchesExact);
// "inexact" = only through a parent directory (MatchesOrParentMatches).
type Want = "exact" | "inexact" | "fail";
const mobyMatches: Array<[string, string, Want]> = [
  ["**", "file", "exact"], ["**", "file/", "exact"], ["**/", "file", "exact"], ["**/", "file/", "exact"],
  ["**", "/", "exact"], ["**/", "/", "exact"], ["**", "dir/file", "exact"], ["**/", "dir/file", "exact"],
  ["**", "dir/file/", "exact"], ["**/", "dir/file/", "exact"], ["**/**", "dir/file", "exact"], ["**/**", "dir/file/", "exact"],
  ["dir/**", "dir/file", "exact"], ["dir/**", "dir/file/", "exact"], ["dir/**", "dir/dir2/file", "exact"], ["dir/**", "dir/dir2/file/", "exact"],
  ["**/dir", "dir", "exact"], ["**/dir", "dir/file", "inexact"], ["**/dir2/*", "dir/dir2/file", "exact"], ["**/dir2/*", "dir/dir2/file/", "inexact"],
  ["**/dir2/**", "dir/dir2/dir3/file", "exact"], ["**/dir2/**", "dir/dir2/dir3/file/", "exact"], ["**file", "file", "exact"], ["**file", "dir/file", "exact"],
  ["**/file", "dir/file", "exact"], ["**file", "dir/dir/file", "exact"], ["**/file", "dir/dir/file", "exact"], ["**/file*", "dir/dir/file", "exact"],
  ["**/file*", "dir/dir/file.txt", "exact"], ["**/file*txt", "dir/dir/file.txt", "exact"], ["**/file*.txt", "dir/dir/file.txt", "exact"],
  ["**/file*.txt*", "dir/dir/file.txt", "exact"], ["**/**/*.txt", "dir/dir/file.txt", "exact"], ["**/**/*.txt2", "dir/dir/file.txt", "fail"],
  ["**/*.txt", "file.txt", "exact"], ["**/**/*.txt", "file.txt", "exact"], ["a**/*.txt", "a/file.txt", "exact"], ["a**/*.txt", "a/dir/file.txt", "exact"],
  ["a**/*.txt", "a/dir/dir/file.txt", "exact"], ["a/*.txt", "a/dir/file.txt", "fail"], ["a/*.txt", "a/file.txt", "exact"], ["a/*.txt**", "a/file.txt", "exact"],
  ["a[b-d]e", "ae", "fail"], ["a[b-d]e", "ace", "exact"], ["a[b-d]e", "aae", "fail"], ["a[^b-d]e", "aze", "exact"],
  [".*", ".foo", "exact"], [".*", "foo", "fail"], ["abc.def", "abcdef", "fail"], ["abc.def", "abc.def", "exact"],
  ["abc.def", "abcZdef", "fail"], ["abc?def", "abcZdef", "exact"], ["abc?def", "abcdef", "fail"], ["**/foo/bar", "foo/bar", "exact"],
  ["**/foo/bar", "dir/foo/bar", "exact"], ["**/foo/bar", "dir/dir2/foo/bar", "exact"], ["abc/**", "abc", "fail"], ["abc/**", "abc/def", "exact"],
  ["abc/**", "abc/def/ghi", "exact"], ["**/.foo", ".foo", "exact"], ["**/.foo", "bar.foo", "fail"], ["a(b)c/def", "a(b)c/def", "exact"],
  ["a(b)c/def", "a(b)c/xyz", "fail"], ["a.|)$(}+{bc", "a.|)$(}+{bc", "exact"],
  ["dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", "exact"],
  ["dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", "exact"],
  // Unix only.
  ["a\\\\", "a\\", "exact"], ["a\\*b", "a*b", "exact"],
];

// TestMatches' multiPatternTests (MatchesOrParentMatches).
const mobyMultiPattern: Array<[string[], string, boolean]> = [
  [["**", "!util/docker/web"], "util/docker/web/foo", false],
  [["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", true],
  [["**", "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", false],
  [["**", "!dist/*.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", false],
];

// The single-case tests (TestWildcardMatches … TestMatchesWithNoPatterns).
const mobySingles: Array<[string[], string, boolean]> = [
  [["*"], "fileutils.go", true],
  [["*.go"], "fileutils.go", true],
  [["!fileutils.go", "*.go"], "fileutils.go", true],
  [["docs", "!docs/README.md"], "docs/README.md", false],
  [["docs/", "!docs/README.md"], "docs/README.md", false],
  [["docs/*", "!docs/README.md"], "docs/README.md", false],
  [["*.go", "!fileutils.go"], "fileutils.go", false],
  [["*.go"], ".", false],
  [[], "/any/path/there", false],
];

// matchTests (Go's own filepath.Match vectors, which moby runs through Matches); null: ErrBadPattern.
const goMatch: Array<[string, string, boolean | null]> = [
  ["abc", "abc", true], ["*", "abc", true], ["*c", "abc", true], ["a*", "a", true], ["a*", "abc", true], ["a*", "ab/c", true],
  ["a*/b", "abc/b", true], ["a*/b", "a/c/b", false], ["a*b*c*d*e*/f", "axbxcxdxe/f", true], ["a*b*c*d*e*/f", "axbxcxdxexxx/f", true],
  ["a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false], ["a*b*c*d*e*/f", "axbxcxdxexxx/fff", false], ["a*b?c*x", "abxbbxdbxebxczzx", true],
  ["a*b?c*x", "abxbbxdbxebxczzy", false], ["ab[c]", "abc", true], ["ab[b-d]", "abc", true], ["ab[e-g]", "abc", false],
  ["ab[^c]", "abc", false], ["ab[^b-d]", "abc", false], ["ab[^e-g]", "abc", true], ["a\\*b", "a*b", true], ["a\\*b", "ab", false],
  ["a?b", "a☺b", true], ["a[^a]b", "a☺b", true], ["a???b", "a☺b", false], ["a[^a][^a][^a]b", "a☺b", false], ["[a-ζ]*", "α", true],
  ["*[a-ζ]", "A", false], ["a?b", "a/b", false], ["a*b", "a/b", false], ["[\\]a]", "]", true], ["[\\-]", "-", true],
  ["[x\\-]", "x", true], ["[x\\-]", "-", true], ["[x\\-]", "z", false], ["[\\-x]", "x", true], ["[\\-x]", "-", true], ["[\\-x]", "a", false],
  ["[]a]", "]", null], ["[-]", "-", null], ["[x-]", "x", null], ["[x-]", "-", null], ["[x-]", "z", null], ["[-x]", "x", null],
  ["[-x]", "-", null], ["[-x]", "a", null], ["\\", "a", null], ["[a-b-c]", "a", null], ["[", "a", null], ["[^", "a", null],
  ["[^bc", "a", null], ["a[", "a", null], ["a[", "ab", null], ["*x", "xxx", true],
];

const invalid = (e: unknown) => e instanceof LadingError && e.code === "INVALID_ARGUMENT";

test("moby's TestMatches: each pattern matches a path itself, or through a parent, as docker's does", () => {
  for (const [pattern, path, want] of mobyMatches) {
    const what = `pattern ${JSON.stringify(pattern)} vs ${JSON.stringify(path)}`;
    assert.equal(compiled(pattern).matches(path), want === "exact", `${what} (exact)`);
    assert.equal(createMatcher([pattern])(path, false), want !== "fail", `${what} (or parent)`);
  }
  for (const [patterns, path, want] of [...mobyMultiPattern, ...mobySingles]) {
    assert.equal(createMatcher(patterns)(path, false), want, `patterns ${JSON.stringify(patterns)} vs ${JSON.stringify(path)}`);
  }
});

test("moby's TestMatch (Go's filepath.Match vectors): matches, and malformed patterns refused", () => {
  for (const [pattern, path, want] of goMatch) {
    const what = `pattern ${JSON.stringify(pattern)} vs ${JSON.stringify(path)}`;
    if (want === null) assert.throws(() => createMatcher([pattern])(path, false), invalid, what);
    else assert.equal(createMatcher([pattern])(path, false), want, what);
  }
});

test("moby's malformed and lone-\"!\" patterns are errors, never a silent non-match", () => {
  assert.throws(() => createMatcher(["["])("/any/path/there", false), invalid);
  assert.throws(() => createMatcher(["!"])("fileutils.go", false), invalid);
  assert.throws(() => createMatcher(["docs", "  !  "])("docs/x", false), invalid);
  // Valid for filepath.Match, refused by the regexp engine (a range out of order): moby/moby#52203.
  assert.throws(() => createMatcher(["[Local-Only]/"])("x", false), invalid);
});

test("moby's compile table, as users see it: plain patterns compare as strings, a leading double star as a suffix", () => {
  // "**file" is a suffix test, not "(.*/)?file": it matches "myfile" too.
  assert.equal(createMatcher(["**file"])("dir/myfile", false), true);
  assert.equal(createMatcher(["**/file"])("dir/myfile", false), false);
  // Only .+()|{}$ are escaped: a "^" outside a class anchors, so "a^b" matches nothing (in docker too).
  assert.equal(createMatcher(["a^b?"])("a^bc", false), false);
  assert.equal(createMatcher(["a^b"])("a^b", false), true, "no wildcard: compared as a string");
});

test("moby's ignorefile TestReadAll: leading slashes dropped, comments skipped, \"!\" kept as written", () => {
  const content = "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ";
  assert.deepEqual(parseIgnoreFile(content), ["test1", "test2", "a/file/here", "lastfile", "!inverted/abs/path", "!", "!"]);
});

test("exceptions: the last matching pattern wins", () => {
  const m = createMatcher(["*.md", "!README.md", "docs", "!docs/keep.txt"]);
  assert.equal(m("CHANGES.md", false), true);
  assert.equal(m("README.md", false), false);
  assert.equal(m("docs/a.txt", false), true);
  assert.equal(m("docs/keep.txt", false), false);
  assert.equal(m("src/a.ts", false), false);
  const again = createMatcher(["!README.md", "*.md"]);
  assert.equal(again("README.md", false), true, "an exception before the exclusion is overridden");
  const all = createMatcher(["**", "!src/**/*.ts"]);
  assert.equal(all("src/a/b.ts", false), false);
  assert.equal(all("src/a/b.js", false), true);
});

test("parseIgnoreFile: comments only at line start, trimming, leading slash, BOM, CRLF", () => {
  const text = "\uFEFF# comment\n  node_modules  \r\n\n/build/\n!  /build/keep\n a#b\n./x/../y\n\t\n";
  assert.deepEqual(parseIgnoreFile(text), ["node_modules", "build", "!build/keep", "a#b", "y"]);
});

test("mayContainIncluded says when a walker must enter an excluded directory", () => {
  const pats = ["build", "!build/out/keep.txt", "logs"];
  assert.equal(mayContainIncluded(pats, "build"), true);
  assert.equal(mayContainIncluded(pats, "build/out"), true);
  assert.equal(mayContainIncluded(pats, "build/tmp"), false);
  assert.equal(mayContainIncluded(pats, "logs"), false);
  assert.equal(mayContainIncluded(["x", "!**/keep"], "x/y/z"), true);
  assert.equal(mayContainIncluded(["x", "!x/*/keep"], "x/y"), true);
  assert.equal(mayContainIncluded(["x"], "x"), false);
});

test("include patterns select paths and everything below a matching directory", () => {
  const inc = createIncludeMatcher(["src/*.ts", "docs", "!docs/private"]);
  assert.equal(inc("src/a.ts", false), true);
  assert.equal(inc("src/sub/a.ts", false), false);
  assert.equal(inc("src/a.js", false), false);
  assert.equal(inc("docs/x/y.md", false), true);
  assert.equal(inc("docs/private/k", false), false);
  assert.equal(inc("other", false), false);
});

test("a malformed .dockerignore pattern fails the build at once, naming the file", async () => {
  const t = tempDir("lading-patterns-");
  try {
    writeFileSync(join(t.path, "Containerfile"), "FROM scratch\n");
    writeFileSync(join(t.path, ".dockerignore"), "node_modules\n[oops\n");
    await assert.rejects(contextExcludes(join(t.path, "Containerfile"), t.path), (e: unknown) => invalid(e) && (e as Error).message.startsWith(join(t.path, ".dockerignore") + ': pattern "[oops" is malformed'));
    writeFileSync(join(t.path, ".dockerignore"), "node_modules\n!keep\n");
    assert.deepEqual((await contextExcludes(join(t.path, "Containerfile"), t.path)).patterns, ["node_modules", "!keep"]);
  } finally {
    t.cleanup();
  }
});
