/**
 * Rootless without subordinate ids (LADING_SUBIDS=0 stands in for a user
 * with no /etc/subuid range): an image whose files all belong to root still
 * runs; one with other owners fails with what to do about it.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { Readable } from "node:stream";
import { writeLayer } from "../../src/oci/layer-writer.js";
import type { LayerRef } from "../../src/oci/types.js";
import type { LadingError } from "../../src/errors.js";
import { busybox, layerItems, sh, type Busybox } from "./fixture.js";

let b: Busybox;
let rootOnly: LayerRef[];
before(async () => {
  b = await busybox();
  const bb = readFileSync("/bin/busybox");
  const layer = await writeLayer(b.store, [
    { path: "bin", type: "directory", mode: 0o755, uid: 0, gid: 0 },
    { path: "bin/busybox", type: "file", mode: statSync("/bin/busybox").mode & 0o7777, uid: 0, gid: 0, size: bb.length, open: () => Readable.from([bb]) },
    { path: "bin/sh", type: "symlink", mode: 0o777, uid: 0, gid: 0, linkname: "busybox" },
    { path: "tmp", type: "directory", mode: 0o1777, uid: 0, gid: 0 },
  ]);
  rootOnly = [layer];
  process.env.LADING_SUBIDS = "0";
});
after(() => {
  delete process.env.LADING_SUBIDS;
  b.cleanup();
});

describe("rootless with a single id", { skip: process.getuid!() === 0 && "only meaningful as a non-root user" }, () => {
  it("runs an image whose files all belong to root", async () => {
    const r = await sh(b, rootOnly, "/bin/busybox mkdir /data && /bin/busybox echo hi > /data/x; /bin/busybox id -u", { env: [] });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, "0\n");
    assert.deepEqual((await layerItems(b.store, r.layer!)).map((i) => `${i.name} ${i.uid}`), ["data 0", "data/x 0"]);
  });

  it("explains how to add subordinate ids when the image needs them", async () => {
    await assert.rejects(sh(b, b.layers, "true"), (e: LadingError) => e.code === "RUNTIME_UNAVAILABLE" && /\/etc\/subuid/.test(e.message) && /usermod --add-subuids/.test(e.message));
  });
});
