import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mapEnv, processHeredoc, processWord, processWords } from "../../src/frontends/containerfile/shell-lex.js";
import { sharedPath, skipWithoutShared } from "../helpers/shared.js";

const VECTORS = "reference/buildkit-shell-tests";
const noVectors = skipWithoutShared(VECTORS);

function outcome(f: () => unknown): unknown {
  try {
    return f();
  } catch {
    return "error";
  }
}

test("every Unix vector of BuildKit's envVarTest expands to the same word", { skip: noVectors }, () => {
  const env = mapEnv({ PWD: "/home", SHELL: "bash", KOREAN: "한국어", NULL: "" });
  let count = 0;
  for (const line of readFileSync(sharedPath(`${VECTORS}/envVarTest`), "utf8").split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const [platform, source, expected] = line.split("|").map((s) => s.trim());
    if (platform === "W") continue;
    assert.equal(outcome(() => processWord(source!, env)), expected, `source ${JSON.stringify(source)}`);
    count++;
  }
  assert.ok(count > 200, `ran ${count} vectors`);
});

test("every vector of BuildKit's wordsTest splits into the same words", { skip: noVectors }, () => {
  const vars = new Map<string, string>();
  let count = 0;
  for (const line of readFileSync(sharedPath(`${VECTORS}/wordsTest`), "utf8").split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    if (line.startsWith("ENV ")) {
      const kv = line.slice(4);
      const eq = kv.indexOf("=");
      vars.set(kv.slice(0, eq), kv.slice(eq + 1));
      continue;
    }
    const bar = line.indexOf("|");
    const source = line.slice(0, bar).trim();
    const expected = line.slice(bar + 1).trimStart();
    const got = outcome(() => processWords(source, mapEnv(vars)));
    assert.deepEqual(got, expected === "error" ? "error" : expected.split(","), `source ${JSON.stringify(source)}`);
    count++;
  }
  assert.ok(count >= 20, `ran ${count} vectors`);
});

test("trimming, substitution and the backtick escape", () => {
  const env = mapEnv({ F: "archive.tar.gz", P: "/a/b/c" });
  assert.equal(processWord("${F%.*}", env), "archive.tar");
  assert.equal(processWord("${F%%.*}", env), "archive");
  assert.equal(processWord("${F#*.}", env), "tar.gz");
  assert.equal(processWord("${F##*.}", env), "gz");
  assert.equal(processWord("${P/b/x}", env), "/a/x/c");
  assert.equal(processWord("${P//\\//_}", env), "_a_b_c");
  assert.equal(processWord("a`$F", env, { escape: "`" }), "a$F");
  assert.equal(processWord("C:\\dir", env, { escape: "`" }), "C:\\dir");
});

test("onUnset is told about plain reads of unset variables only", () => {
  const seen: string[] = [];
  const env = { get: (n: string) => (n === "SET" ? "v" : undefined), onUnset: (n: string) => void seen.push(n) };
  processWord("$A ${B} ${C:-x} ${D+y} $SET", env);
  assert.deepEqual(seen, ["A", "B"]);
});

test("heredoc bodies expand like an unquoted shell here-document", () => {
  const env = mapEnv({ V: "42" });
  assert.equal(processHeredoc("a=$V '$V' \"${V}\"\n\\$V \\\\ \\n\nx\\\ny\n", env), "a=42 '42' \"42\"\n$V \\ \\n\nxy\n");
  assert.throws(() => processHeredoc("${V", env), /missing/);
});
