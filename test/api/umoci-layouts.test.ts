// Layouts umoci writes are read as they are: its empty index.json says
// `"manifests": null`, and `umoci insert` layers stop right after the last
// file's bytes (opencontainers/umoci#436). A tag that is not there is named,
// with the tags that are.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, LadingError, type Client } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";
import { run } from "../helpers/tools.js";

const t = tempDir("lading-umoci-layouts-");
let client: Client;
const empty = join(t.path, "empty");
const layout = join(t.path, "layout");
const rootless = process.getuid?.() === 0 ? [] : ["--rootless"];

before(async () => {
  run("umoci", ["init", "--layout", empty]);
  run("umoci", ["init", "--layout", layout]);
  run("umoci", ["new", "--image", `${layout}:inserted`]);
  const src = join(t.path, "src");
  mkdirSync(join(src, "sub"), { recursive: true });
  writeFileSync(join(src, "hello.txt"), "hello\n");
  writeFileSync(join(src, "sub", "b"), "b\n"); // 2 bytes: the layer ends 510 bytes short of its padding
  run("umoci", ["insert", "--image", `${layout}:inserted`, src, "/app"]);
  const bundle = join(t.path, "bundle");
  run("umoci", ["unpack", ...rootless, "--image", `${layout}:inserted`, bundle]);
  writeFileSync(join(bundle, "rootfs", "repacked.txt"), "repacked\n");
  run("umoci", ["repack", ...rootless, "--image", `${layout}:repacked`, bundle]);
  run("tar", ["-C", empty, "-cf", join(t.path, "empty.tar"), "."]);
  run("tar", ["-C", layout, "-cf", join(t.path, "layout.tar"), "."]);
  client = await connect({ store: join(t.path, "store") });
});
after(async () => {
  await client?.close();
  t.cleanup();
});

async function refusal(address: string): Promise<LadingError> {
  const err = await client.container().from(address).digest().then(
    () => assert.fail(`${address} was read`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof LadingError, String(err));
  return err;
}

test("umoci init writes `\"manifests\": null`; lading reads it as an empty layout and says the tag is not there", async () => {
  assert.match(readFileSync(join(empty, "index.json"), "utf8"), /"manifests":null/);
  for (const address of [`oci:${empty}:latest`, `oci-archive:${join(t.path, "empty.tar")}:latest`]) {
    const err = await refusal(address);
    assert.equal(err.code, "NOT_FOUND");
    assert.match(err.message, /tag "latest" not found; the layout has no images and no tags/);
  }
  const err = await refusal(`oci:${empty}`);
  assert.equal(err.code, "NOT_FOUND");
  assert.match(err.message, /holds no image/);
});

test("a tag not in a umoci layout: the error lists the tags it has", async () => {
  for (const address of [`oci:${layout}:nope`, `oci-archive:${join(t.path, "layout.tar")}:nope`]) {
    const err = await refusal(address);
    assert.equal(err.code, "NOT_FOUND");
    assert.match(err.message, /tag "nope" not found; the layout's tags: inserted, repacked/);
  }
});

test("umoci new + insert, and unpack + repack: from() reads the files, from the layout and from its archive", async () => {
  for (const base of [`oci:${layout}`, `oci-archive:${join(t.path, "layout.tar")}`]) {
    const inserted = client.container().from(`${base}:inserted`);
    assert.equal(await inserted.file("/app/sub/b").contents(), "b\n");
    assert.equal(await inserted.file("/app/hello.txt").contents(), "hello\n");
    const out = join(t.path, `out-${base.split(":")[0]}`);
    await inserted.directory("/app").export(out);
    assert.equal(readFileSync(join(out, "sub", "b"), "utf8"), "b\n");
    const repacked = client.container().from(`${base}:repacked`);
    assert.equal(await repacked.file("/repacked.txt").contents(), "repacked\n");
    assert.equal(await repacked.file("/app/sub/b").contents(), "b\n");
  }
});
