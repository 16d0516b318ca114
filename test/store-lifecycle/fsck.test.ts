import { test, after } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hexOf, sha256 } from "../../src/oci/digest.js";
import { fsck } from "../../src/store/fsck.js";
import { tempDir } from "../helpers/tmp.js";
import { deadPid, makeFixture } from "./fixture.js";

const t = tempDir("lading-fsck-");
after(t.cleanup);
let n = 0;
const fresh = () => makeFixture(join(t.path, `s${n++}`));

test("a sound store is clean; temp files of dead processes are counted apart, not as problems", async () => {
  const f = await fresh();
  writeFileSync(join(f.store.root, "lading", "tmp", `blob.${deadPid()}.cafe`), "half a blob");
  const r = await fsck(f.store);
  assert.equal(r.ok, true, JSON.stringify(r.problems));
  assert.deepEqual(r.problems, []);
  assert.equal(r.tempFiles, 1);
  assert.ok(r.checked.blobs >= 8 && r.checked.names === 1 && r.checked.records === 2 && r.checked.pins === 1 && r.checked.snapshots === 3);
});

test("finds a corrupt blob, the image and record that need it, a record that does not parse, a pin to nothing, broken snapshots; --repair removes them and the store is clean", async () => {
  const f = await fresh();
  // corrupt the named image's layer (also held by an op-cache record)
  const layerPath = f.store.blobPath(f.named.layer);
  chmodSync(layerPath, 0o644);
  writeFileSync(layerPath, "not the layer");
  // a record that does not parse, a record pointing at nothing
  writeFileSync(join(f.store.root, "lading", "opcache", hexOf(sha256("garbled")) + ".json"), "{\"layer\":");
  await f.store.putCached(sha256("dangling"), { layer: { diffId: sha256("d"), descriptor: { mediaType: "x", digest: sha256("nothing here"), size: 1 } } });
  // a pin to a blob that is gone
  rmSync(f.store.blobPath(f.loose));
  // a rootfs without its completion marker, a snapshot whose layers give another chain id
  rmSync(f.rootfsNew + ".complete");
  writeFileSync(f.snapshot + ".json", JSON.stringify({ diffIds: [sha256("other")] }));

  const r = await fsck(f.store);
  assert.equal(r.ok, false);
  const kinds = r.problems.map((p) => p.kind).sort();
  assert.deepEqual(kinds, ["bad-record", "corrupt-blob", "incomplete-snapshot", "missing-blob", "pin-missing-blob", "record-missing-blob", "record-missing-blob", "snapshot-chain-mismatch"]);
  assert.ok(r.problems.find((p) => p.kind === "missing-blob")!.message.includes(`"base"`));
  assert.ok(r.problems.every((p) => p.repaired === undefined), "a check alone changes nothing");
  assert.ok(existsSync(layerPath));

  const fixed = await fsck(f.store, { repair: true });
  assert.equal(fixed.ok, true);
  assert.ok(fixed.problems.every((p) => p.repaired));
  assert.ok(!existsSync(layerPath) && !existsSync(f.rootfsNew) && !existsSync(f.snapshot));
  assert.equal(await f.store.resolveName("base"), undefined, "the broken image's name is removed so it is pulled or built again");
  assert.equal(await f.store.getCached(f.recordNamed), undefined);
  assert.equal(await f.store.getPin(f.pinRef), undefined);
  assert.ok(existsSync(f.rootfsOld), "sound snapshots stay");
  assert.ok(await f.store.getCached(f.recordB), "sound records stay");
  const again = await fsck(f.store);
  assert.equal(again.ok, true, JSON.stringify(again.problems));
  assert.deepEqual(again.problems, []);
});

test("a file in blobs/sha256 that is not named by a digest, and an unreadable index.json, are reported", async () => {
  const f = await fresh();
  writeFileSync(join(f.store.root, "blobs", "sha256", "not-a-digest"), "x");
  const r = await fsck(f.store);
  assert.deepEqual(r.problems.map((p) => p.kind), ["stray-file"]);
  await fsck(f.store, { repair: true });
  assert.ok(!existsSync(join(f.store.root, "blobs", "sha256", "not-a-digest")));
  writeFileSync(join(f.store.root, "index.json"), "{ broken");
  assert.deepEqual((await fsck(f.store)).problems.map((p) => p.kind), ["bad-index"]);
  mkdirSync(join(f.store.root, "lading", "rootfs", "weird-name"));
  assert.deepEqual((await fsck(f.store)).problems.map((p) => p.kind).sort(), ["bad-index", "snapshot-chain-mismatch"]);
});
