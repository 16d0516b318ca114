/**
 * Every kind of change a step can make comes out right in its layer:
 * checked in the tar itself, and by running on top of base + new layer
 * (which unpacks the layer the way every later step sees it).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { busybox, layerItems, sh, type Busybox } from "./fixture.js";
import type { LayerRef } from "../../src/oci/types.js";
import { Readable } from "node:stream";
import { writeLayer } from "../../src/oci/layer-writer.js";

let b: Busybox;
let base: LayerRef[];
before(async () => {
  b = await busybox();
  // A first step lays out what the second one changes.
  const prep = await sh(
    b,
    b.layers,
    "mkdir -p /data/keep /data/gone /data/opaque/old && echo k > /data/keep/k && echo g > /data/gone/g && echo o > /data/opaque/old/o && " +
      "echo r > /data/rename-me && echo m > /data/mode && echo c > /data/owner && echo x > /data/del",
  );
  assert.equal(prep.exitCode, 0, prep.stderr);
  base = [...b.layers, prep.layer!];
});
after(() => b.cleanup());

describe("a step's changes as one layer", () => {
  it("writes deletions, renames, mode and owner changes, links, fifos and replaced directories", async () => {
    const r = await sh(
      b,
      base,
      "rm /data/del && rm -r /data/gone && mv /data/rename-me /data/renamed && chmod 4750 /data/mode && chown 1000:42 /data/owner && " +
        "ln /data/keep/k /data/hard && ln -s ../keep/k /data/soft && mkfifo /data/fifo && rm -r /data/opaque && mkdir -p /data/opaque/new && echo n > /data/opaque/new/n",
    );
    assert.equal(r.exitCode, 0, r.stderr);
    const items = await layerItems(b.store, r.layer!);
    const by = new Map(items.map((i) => [i.name, i]));
    for (const w of ["data/.wh.del", "data/.wh.gone", "data/.wh.rename-me"]) assert.ok(by.has(w), `missing whiteout ${w} in ${[...by.keys()]}`);
    assert.equal(by.get("data/renamed")!.body, "r\n");
    assert.equal(by.get("data/mode")!.mode, 0o4750);
    assert.deepEqual([by.get("data/owner")!.uid, by.get("data/owner")!.gid], [1000, 42]);
    assert.equal(by.get("data/soft")!.type, "symlink");
    assert.equal(by.get("data/soft")!.linkname, "../keep/k");
    assert.equal(by.get("data/fifo")!.type, "fifo");
    // Hard link: one file body, one link to it (whichever path sorts first holds the data).
    const pair = [by.get("data/hard")!, by.get("data/keep/k")!];
    assert.deepEqual(pair.map((p) => p.type).sort(), ["file", "link"]);
    assert.ok(by.has("data/opaque/.wh..wh..opq"), "a re-created directory must be opaque");
    assert.ok(!by.has("data/keep/.wh.k"));
    // Nothing else: untouched files of the lower layer are not repeated.
    assert.ok(!by.has("bin/busybox") && !by.has("etc/passwd"));
  });

  it("reads back the same tree on the next step", async () => {
    const r = await sh(
      b,
      base,
      "rm /data/del && rm -r /data/gone && mv /data/rename-me /data/renamed && chmod 4750 /data/mode && chown 1000:42 /data/owner && " +
        "ln /data/keep/k /data/hard && ln -s ../keep/k /data/soft && mkfifo /data/fifo && rm -r /data/opaque && mkdir -p /data/opaque/new && echo n > /data/opaque/new/n",
    );
    const next = await sh(b, [...base, r.layer!], "cd /data && find . | sort && stat -c '%n %a %u:%g %h' mode owner keep/k hard && readlink soft");
    assert.equal(next.exitCode, 0, next.stderr);
    assert.equal(
      next.stdout,
      [".", "./fifo", "./hard", "./keep", "./keep/k", "./mode", "./opaque", "./opaque/new", "./opaque/new/n", "./owner", "./renamed", "./soft", "mode 4750 0:0 1", "owner 644 1000:42 1", "keep/k 644 0:0 2", "hard 644 0:0 2", "../keep/k", ""].join("\n"),
    );
  });

  it("adds no layer for a step that changes nothing, even one that writes and removes a file", async () => {
    const r = await sh(b, base, "echo t > /tmp/t && rm /tmp/t && ls / >/dev/null");
    assert.equal(r.layer, undefined);
  });

  for (const [how, overlay] of [["overlay", "1"], ["a copy", "0"]] as const) {
    it(`leaves new paths below /tmp out of the layer and keeps changes to the image's own (${how})`, async () => {
      const tmpFiles = await writeLayer(b.store, [
        { path: "tmp/keep", type: "file", mode: 0o644, uid: 0, gid: 0, size: 2, open: () => Readable.from([Buffer.from("k\n")]) },
        { path: "tmp/gone", type: "file", mode: 0o644, uid: 0, gid: 0, size: 0 },
        { path: "tmp/dir", type: "directory", mode: 0o755, uid: 0, gid: 0 },
      ]);
      process.env.LADING_OVERLAY = overlay;
      try {
        const r = await sh(
          b,
          [...b.layers, tmpFiles],
          "mktemp /tmp/x.XXXXXX >/dev/null && mkdir -p /tmp/new/deep && echo n > /tmp/new/deep/n && echo more >> /tmp/keep && rm /tmp/gone && echo d > /tmp/dir/added && chmod 700 /tmp/dir && echo out > /kept",
        );
        assert.equal(r.exitCode, 0, r.stderr);
        assert.deepEqual((await layerItems(b.store, r.layer!)).map((i) => i.name), ["kept", "tmp", "tmp/.wh.gone", "tmp/dir", "tmp/keep"]);
        const only = await sh(b, [...b.layers, tmpFiles], "echo x > /tmp/scratch");
        assert.equal(only.layer, undefined, "a step that only leaves scratch in /tmp adds no layer");
      } finally {
        delete process.env.LADING_OVERLAY;
      }
    });
  }
});
