import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { resolveInRoot } from "../../src/fsutil/scoped-path.js";
import { tempDir } from "../helpers/tmp.js";

const tmp = tempDir();
after(() => tmp.cleanup());

test("symlinks are followed inside the root and never out of it", async () => {
  const r = tmp.path;
  mkdirSync(join(r, "d/sub"), { recursive: true });
  writeFileSync(join(r, "d/sub/f"), "f");
  writeFileSync(join(r, "top"), "t");
  symlinkSync("d/sub/f", join(r, "rel"));
  symlinkSync("/d/sub", join(r, "abs"));
  symlinkSync("../../../../top", join(r, "d/sub/escape"));
  symlinkSync("loop2", join(r, "loop1"));
  symlinkSync("loop1", join(r, "loop2"));
  symlinkSync("d", join(r, "dirlink"));
  assert.equal(await resolveInRoot(r, "rel"), "d/sub/f");
  assert.equal(await resolveInRoot(r, "abs/f"), "d/sub/f");
  assert.equal(await resolveInRoot(r, "d/sub/escape"), "top", "a link climbing above the root stops at the root");
  assert.equal(await resolveInRoot(r, "dirlink/sub/../sub/f"), "d/sub/f");
  assert.equal(await resolveInRoot(r, "nope/x"), undefined);
  assert.equal(await resolveInRoot(r, "."), "");
  await assert.rejects(resolveInRoot(r, "loop1"), /too many levels/);
});
