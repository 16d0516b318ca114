import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { followInScope, hostLookup, resolveInRoot } from "../../src/fsutil/scoped-path.js";
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

test("followInScope: missing components kept for a path to create; a last link left as is when asked", async () => {
  const links: Record<string, string> = { tempest: "/var/lib/tempest", esc: "../../..", "var/lib/tempest/self": "." };
  const lookup = async (rel: string) => (links[rel] !== undefined ? { link: links[rel]! } : ("present" as const));
  assert.equal(await followInScope("tempest/f", lookup, { missing: "keep" }), "var/lib/tempest/f");
  assert.equal(await followInScope("tempest", lookup, { missing: "keep", followLast: false }), "tempest");
  assert.equal(await followInScope("tempest/self/g", lookup, { missing: "keep", followLast: false }), "var/lib/tempest/g");
  assert.equal(await followInScope("esc/../h", lookup), "h");
  const r = tmp.path;
  mkdirSync(join(r, "made"));
  symlinkSync("made/new/deeper", join(r, "toward"));
  assert.equal(await followInScope("toward/x", hostLookup(r), { missing: "keep" }), "made/new/deeper/x");
  assert.equal(await followInScope("toward/x", hostLookup(r)), undefined);
});
