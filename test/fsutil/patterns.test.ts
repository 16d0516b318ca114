import { test } from "node:test";
import assert from "node:assert/strict";
import { createIncludeMatcher, createMatcher, mayContainIncluded, parseIgnoreFile } from "../../src/fsutil/patterns.js";

// moby/patternmatcher's TestMatches table (pattern, path, matched), on Unix.
const mobyMatches: Array<[string, string, boolean]> = [
  ["**", "file", true], ["**", "file/", true], ["**/", "file", true], ["**/", "file/", true],
  ["**", "dir/file", true], ["**/", "dir/file", true], ["**", "dir/file/", true], ["**/", "dir/file/", true],
  ["**/**", "dir/file", true], ["**/**", "dir/file/", true], ["dir/**", "dir/file", true], ["dir/**", "dir/file/", true],
  ["dir/**", "dir/dir2/file", true], ["dir/**", "dir/dir2/file/", true], ["**/dir", "dir", true], ["**/dir", "dir/file", true],
  ["**/dir2/*", "dir/dir2/file", true], ["**/dir2/*", "dir/dir2/file/", true], ["**/dir2/**", "dir/dir2/dir3/file", true],
  ["**/dir2/**", "dir/dir2/dir3/file/", true], ["**file", "file", true], ["**file", "dir/file", true], ["**/file", "dir/file", true],
  ["**file", "dir/dir/file", true], ["**/file", "dir/dir/file", true], ["**/file*", "dir/dir/file", true],
  ["**/file*", "dir/dir/file.txt", true], ["**/file*txt", "dir/dir/file.txt", true], ["**/file*.txt", "dir/dir/file.txt", true],
  ["**/file*.txt*", "dir/dir/file.txt", true], ["**/**/*.txt", "dir/dir/file.txt", true], ["**/**/*.txt2", "dir/dir/file.txt", false],
  ["**/*.txt", "file.txt", true], ["**/**/*.txt", "file.txt", true], ["a**/*.txt", "a/file.txt", true],
  ["a**/*.txt", "a/dir/file.txt", true], ["a**/*.txt", "a/dir/dir/file.txt", true], ["a/*.txt", "a/dir/file.txt", false],
  ["a/*.txt", "a/file.txt", true], ["a/*.txt**", "a/file.txt", true], ["a[b-d]e", "ae", false], ["a[b-d]e", "ace", true],
  ["a[b-d]e", "aae", false], ["a[^b-d]e", "aze", true], [".*", ".foo", true], [".*", "foo", false],
  ["abc.def", "abcdef", false], ["abc.def", "abc.def", true], ["abc.def", "abcZdef", false], ["abc?def", "abcZdef", true],
  ["abc?def", "abcdef", false], ["a\\\\", "a\\", true], ["**/foo/bar", "foo/bar", true], ["**/foo/bar", "dir/foo/bar", true],
  ["**/foo/bar", "dir/dir2/foo/bar", true], ["abc/**", "abc", false], ["abc/**", "abc/def", true], ["abc/**", "abc/def/ghi", true],
  ["**/.foo", ".foo", true], ["**/.foo", "bar.foo", false], ["a(b)c/def", "a(b)c/def", true], ["a(b)c/def", "a(b)c/xyz", false],
  ["a.|)$(}+{bc", "a.|)$(}+{bc", true], ["dist", "dist/sub/file", true], ["/dist", "dist/x", true], ["./dist/", "dist/x", true],
  ["*", "a/b", true], ["*/b", "a/b/c", true], ["*/b", "b", false], ["a/b", "a", false],
];

test("every pattern/path pair of moby/patternmatcher's table matches as docker does", () => {
  for (const [pattern, path, want] of mobyMatches) {
    assert.equal(createMatcher([pattern])(path, false), want, `pattern ${JSON.stringify(pattern)} vs ${JSON.stringify(path)}`);
  }
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
