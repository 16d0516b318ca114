import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { isTarArchive } from "../../src/fsutil/archive-sniff.js";
import { tempDir } from "../helpers/tmp.js";
import { run } from "../helpers/tools.js";

const tmp = tempDir();
after(() => tmp.cleanup());

test("tar archives are recognised by content, compressed or not; compressed non-tars are not", async () => {
  const d = tmp.path;
  mkdirSync(join(d, "t"));
  writeFileSync(join(d, "t", "f"), "content\n");
  run("tar", ["-C", d, "-cf", join(d, "plain.tar"), "t"]);
  run("tar", ["-C", d, "--format=v7", "-cf", join(d, "v7.tar"), "t"]);
  run("tar", ["-C", d, "-czf", join(d, "a.tgz"), "t"]);
  run("tar", ["-C", d, "-cjf", join(d, "a.tbz"), "t"]);
  run("tar", ["-C", d, "-cJf", join(d, "a.txz"), "t"]);
  writeFileSync(join(d, "notes.gz"), gzipSync("just text, not a tar\n".repeat(100)));
  run("sh", ["-c", `printf 'plain words\\n%.0s' $(seq 200) | bzip2 > '${join(d, "notes.bz2")}'`]);
  run("sh", ["-c", `printf 'plain words\\n%.0s' $(seq 200) | xz > '${join(d, "notes.xz")}'`]);
  writeFileSync(join(d, "short"), "tiny");
  writeFileSync(join(d, "zeros"), Buffer.alloc(1024));
  for (const f of ["plain.tar", "v7.tar", "a.tgz", "a.tbz", "a.txz"]) assert.equal(await isTarArchive(join(d, f)), true, f);
  for (const f of ["notes.gz", "notes.bz2", "notes.xz", "short", "zeros"]) assert.equal(await isTarArchive(join(d, f)), false, f);
});
