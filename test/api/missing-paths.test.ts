/**
 * Which paths an image lacks, and which links it has, read from its layers'
 * headers (used to give an owner to the parents a file step creates, and to
 * follow links on a file step's destination): whiteouts and opaque
 * directories in upper layers hide what lower layers had.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Readable } from "node:stream";
import { Store } from "../../src/store/store.js";
import { writeLayer } from "../../src/oci/layer-writer.js";
import { opaqueEntry, whiteoutEntry, type LayerEntry } from "../../src/oci/layer-entry.js";
import { imageLinks, missingPaths } from "../../src/engine/layer-files.js";
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

const link = (path: string, linkname: string): LayerEntry => ({ path, type: "symlink", mode: 0o777, uid: 0, gid: 0, linkname });
const file = (path: string): LayerEntry => ({ path, type: "file", mode: 0o644, uid: 0, gid: 0, size: 0, open: () => Readable.from([]) });

test("an image's links, as the unpacked image has them: whiteouts, opaque folders and replacing entries remove lower links", async () => {
  const store = await Store.open(join(t.path, "links"));
  const l0 = await writeLayer(store, [dir("a"), link("a/l", "/x"), link("gone", "y"), dir("k"), link("k/l", "z"), dir("f"), link("f/l", "w"), link("re", "v"), link("stay", "/s")]);
  const l1 = await writeLayer(store, [whiteoutEntry("a"), opaqueEntry("k"), dir("k"), file("f"), whiteoutEntry("gone"), dir("re"), link("new", "../n")]);
  const lower = [["a/l", "/x"], ["f/l", "w"], ["gone", "y"], ["k/l", "z"], ["re", "v"], ["stay", "/s"]];
  const upper = [["new", "../n"], ["stay", "/s"]];
  assert.deepEqual([...(await imageLinks(store, [l0]))].sort(), lower);
  // Built on the remembered links of [l0] (a file step's chain asks this way), and then from scratch (another
  // store object remembers nothing): the same. Asking for [l0] again still gives its own links, untouched by l1.
  assert.deepEqual([...(await imageLinks(store, [l0, l1]))].sort(), upper);
  assert.deepEqual([...(await imageLinks(await Store.open(join(t.path, "links")), [l0, l1]))].sort(), upper);
  assert.deepEqual([...(await imageLinks(store, [l0]))].sort(), lower);
  // l0 again on top: its links come back, and l1's stays (the memo is by the whole chain, not by the top layer).
  assert.deepEqual([...(await imageLinks(store, [l0, l1, l0]))].sort(), [...lower, ["new", "../n"]].sort());
});
