/**
 * File steps whose destination passes through a symbolic link of the image
 * land where the link leads, resolved inside the image, and leave the link
 * in place (as BuildKit's copy does); a link removed by a later step is
 * no longer followed.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";
import { run } from "../helpers/tools.js";

const t = tempDir("lading-link-dest-");
after(t.cleanup);

test("withNewFile, withFile and withDirectory through links write below the link's target; the links stay", async () => {
  const base = join(t.path, "base");
  mkdirSync(join(base, "tmp"), { recursive: true });
  symlinkSync("/tmp", join(base, "tl"));
  symlinkSync("../..", join(base, "esc"));
  symlinkSync("/var/lib/new", join(base, "dangling"));
  writeFileSync(join(t.path, "b.txt"), "b");
  const client = await connect({ store: join(t.path, "store") });
  try {
    const c = client
      .container()
      .withDirectory("/", client.host().directory(base))
      .withNewFile("/tl/a", "a")
      .withFile("/esc/tl/b", client.host().file(join(t.path, "b.txt")))
      .withDirectory("/tl", client.directory().withNewFile("c", "c"))
      .withDirectory("/dangling/sub", client.directory().withNewFile("d", "d"), { owner: "7:7" })
      .withoutFile("/esc")
      .withNewFile("/esc/e", "e");
    const root = c.rootfs();
    for (const l of ["tl", "dangling"]) assert.ok(await root.exists(l, { expectedType: "SYMLINK" }), `${l} stays a link`);
    for (const f of ["tmp/a", "tmp/b", "tmp/c", "var/lib/new/sub/d", "esc/e"]) assert.ok(await root.exists(f, { expectedType: "REGULAR" }), `${f} is a file`);
    assert.equal(await c.file("/tl/b").contents(), "b");
    // What the layers themselves say (any unpacker, even one that never follows links, gives the same files).
    const layout = join(t.path, "layout");
    await c.exportLayout(layout, { tag: "t" });
    assert.deepEqual(layerNames(layout).slice(1), [["tmp/a"], ["tmp/b"], ["tmp/c"], ["var/", "var/lib/", "var/lib/new/", "var/lib/new/sub/", "var/lib/new/sub/d"], [".wh.esc"], ["esc/e"]]);
  } finally {
    await client.close();
  }
});

/** The entry names of each layer of the layout's image, bottom first. */
function layerNames(layout: string): string[][] {
  const blob = (d: string) => join(layout, "blobs", "sha256", d.slice("sha256:".length));
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
  const manifest = JSON.parse(readFileSync(blob(index.manifests[0].digest), "utf8"));
  return manifest.layers.map((l: { digest: string }) => run("tar", ["-tzf", blob(l.digest)]).split("\n").filter(Boolean));
}
