/**
 * Which paths an image lacks, read from its layers' headers (used to give
 * an owner to the parents a file step creates): whiteouts and opaque
 * directories in upper layers hide what lower layers had.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Store } from "../../src/store/store.js";
import { writeLayer } from "../../src/oci/layer-writer.js";
import { opaqueEntry, whiteoutEntry, type LayerEntry } from "../../src/oci/layer-entry.js";
import { missingPaths } from "../../src/engine/layer-files.js";
import { tempDir } from "../helpers/tmp.js";

const t = tempDir("lading-missing-");
after(t.cleanup);

const dir = (path: string): LayerEntry => ({ path, type: "directory", mode: 0o755, uid: 0, gid: 0 });

test("a path is missing when no layer has it, or when an upper layer whites it out or makes a parent opaque", async () => {
  const store = await Store.open(join(t.path, "store"));
  const l0 = await writeLayer(store, [dir("a"), dir("a/b"), dir("a/b/c"), dir("k"), dir("k/old"), dir("x")]);
  const l1 = await writeLayer(store, [whiteoutEntry("a/b"), opaqueEntry("k"), dir("k"), dir("k/new")]);
  const layers = [l0, l1];
  const asked = ["a", "a/b", "a/b/c", "k", "k/old", "k/new", "x", "y", "y/z"];
  assert.deepEqual(await missingPaths(store, layers, asked), ["a/b", "a/b/c", "k/old", "y", "y/z"]);
  // Seen from the lower layer alone, only what it never had is missing.
  assert.deepEqual(await missingPaths(store, [l0], asked), ["k/new", "y", "y/z"]);
  assert.deepEqual(await missingPaths(store, [], ["a"]), ["a"]);
});
