// Hard links in copied directories (issue 22): the first name in path
// order is the file and the others link to it, for host directories
// (withDirectory, COPY) and for another container's directory; names
// outside what is copied make no link; the layer is the same whatever order
// the inodes were made in; the tree key follows the link structure.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, linkSync, lstatSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type Client, type Container } from "../../src/index.js";
import { lading } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { has, run } from "../helpers/tools.js";

const t = tempDir("lading-hardlinks-");
after(t.cleanup);

let n = 0;
const fresh = (name: string) => join(t.path, `${name}-${n++}`);
const T = 1_700_000_000;

/** Writes `files` (path → content) under `dir`, then links each `links` name to its target; all times fixed. */
function makeTree(dir: string, files: Record<string, string>, links: Array<[name: string, target: string]> = []): string {
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(join(dir, p, ".."), { recursive: true });
    writeFileSync(join(dir, p), content);
  }
  for (const [name, target] of links) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    linkSync(join(dir, target), join(dir, name));
  }
  fixTimes(dir);
  return dir;
}

function fixTimes(dir: string): void {
  const r = spawnSync("find", [dir, "-exec", "touch", "-h", "-d", `@${T}`, "{}", "+"]);
  assert.equal(r.status, 0, String(r.stderr));
}

/** Exports `build(client)` as an OCI archive; returns the unpacked layout dir. */
async function exportLayout(build: (c: Client) => Container): Promise<string> {
  const out = fresh("img") + ".tar";
  await connect(async (client) => build(client).export(out), { store: fresh("store") });
  return unpackArchive(out);
}

function unpackArchive(archive: string): string {
  const dir = archive.replace(/\.tar$/, ".layout");
  mkdirSync(dir);
  run("tar", ["-xf", archive, "-C", dir]);
  return dir;
}

function topLayer(layout: string): string {
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
  const manifest = JSON.parse(readFileSync(join(layout, "blobs/sha256", index.manifests[0].digest.slice(7)), "utf8"));
  return join(layout, "blobs/sha256", manifest.layers.at(-1).digest.slice(7));
}

/** GNU tar's view of the top layer: "type path[ -> link target]" per entry ("-" file, "h" hard link, "d" directory). */
function listing(layout: string): string[] {
  return run("tar", ["-tvzf", topLayer(layout)])
    .trim()
    .split("\n")
    .map((l) => {
      const m = /^(\S)\S*\s+\S+\s+(\d+)\s+\S+\s+\S+\s+(.*?)(?: link to (.*))?$/.exec(l)!;
      return m[1] === "h" ? `h ${m[3]} -> ${m[4]}` : m[1] === "-" ? `- ${m[3]} ${m[2]}` : `${m[1]} ${m[3]}`;
    });
}

test("a host directory: names linked inside it become one file and links to it; a name linked from outside stays a file", async () => {
  const root = makeTree(fresh("host"), { "ctx/d/z": "shared\n", "ctx/solo": "x\n", "other/y": "outside\n" }, [
    ["ctx/a", "ctx/d/z"],
    ["ctx/e/m", "ctx/d/z"],
    ["ctx/out", "other/y"],
  ]);
  const layout = await exportLayout((c) => c.container().withDirectory("/p", c.host().directory(join(root, "ctx"))));
  assert.deepEqual(listing(layout), ["- p/a 7", "d p/d/", "h p/d/z -> p/a", "d p/e/", "h p/e/m -> p/a", "- p/out 8", "- p/solo 2"]);

  // umoci unpacks the links as one inode with three names.
  if (has("umoci")) {
    const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
    index.manifests[0].annotations = { "org.opencontainers.image.ref.name": "t" };
    writeFileSync(join(layout, "index.json"), JSON.stringify(index));
    const bundle = fresh("bundle");
    run("umoci", ["unpack", ...(process.getuid?.() === 0 ? [] : ["--rootless"]), "--image", `${layout}:t`, bundle]);
    const ino = (p: string) => lstatSync(join(bundle, "rootfs", p)).ino;
    assert.equal(ino("p/d/z"), ino("p/a"));
    assert.equal(ino("p/e/m"), ino("p/a"));
    assert.equal(lstatSync(join(bundle, "rootfs/p/a")).nlink, 3);
    assert.notEqual(ino("p/out"), ino("p/a"));
    assert.equal(readFileSync(join(bundle, "rootfs/p/e/m"), "utf8"), "shared\n");
  }
});

test("the layer is the same whichever name of a linked inode was made first", async () => {
  const first = makeTree(fresh("order"), { "b/z": "same\n", "q": "q\n" }, [["a", "b/z"], ["c", "b/z"]]);
  const second = makeTree(fresh("order"), { "c": "same\n", "q": "q\n" }, [["b/z", "c"], ["a", "c"]]);
  const digests: string[] = [];
  for (const dir of [first, second]) {
    const layout = await exportLayout((c) => c.container().withDirectory("/w", c.host().directory(dir)));
    assert.deepEqual(listing(layout), ["- w/a 5", "d w/b/", "h w/b/z -> w/a", "h w/c -> w/a", "- w/q 2"]);
    digests.push(readFileSync(join(layout, "index.json"), "utf8"));
  }
  assert.equal(digests[0], digests[1]);
});

test("the directory's key and the layer follow the link structure: a link replaced by a copy is seen on the next build", async () => {
  const dir = makeTree(fresh("key"), { a: "data\n" }, [["b", "a"]]);
  const store = fresh("store");
  const build = async () => {
    const out = fresh("img") + ".tar";
    const key = await connect(async (c) => {
      const d = c.host().directory(dir);
      await c.container().withDirectory("/k", d).export(out);
      return d.digest();
    }, { store });
    return { key, layout: unpackArchive(out) };
  };
  const linked = await build();
  assert.deepEqual(listing(linked.layout), ["- k/a 5", "h k/b -> k/a"]);
  unlinkSync(join(dir, "b"));
  copyFileSync(join(dir, "a"), join(dir, "b"));
  fixTimes(dir);
  const copied = await build();
  assert.notEqual(copied.key, linked.key);
  assert.deepEqual(listing(copied.layout), ["- k/a 5", "- k/b 5"]);
});

test("COPY with .dockerignore: an excluded first name leaves the first included one as the file", async () => {
  const ctx = makeTree(fresh("ctx"), { "a/first": "linked\n", Containerfile: "FROM scratch\nCOPY . /c/\nADD a /added/\n" }, [
    ["a/second", "a/first"],
    ["a/third", "a/first"],
    ["b/fourth", "a/first"],
  ]);
  writeFileSync(join(ctx, ".dockerignore"), "a/first\nContainerfile\n.dockerignore\n");
  fixTimes(ctx);
  const out = fresh("img") + ".tar";
  const r = await lading(["build", "--progress", "plain", "--store", fresh("store"), "-o", out, ctx]);
  assert.equal(r.code, 0, r.stderr);
  const layout = unpackArchive(out);
  // ADD of a directory of the context: a/first is not in the context, so a/second is the file.
  assert.deepEqual(listing(layout), ["- added/second 7", "h added/third -> added/second"]);
  // The COPY layer is the one below.
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
  const manifest = JSON.parse(readFileSync(join(layout, "blobs/sha256", index.manifests[0].digest.slice(7)), "utf8"));
  const copyLayer = join(layout, "blobs/sha256", manifest.layers[0].digest.slice(7));
  const entries = run("tar", ["-tvzf", copyLayer]).trim().split("\n").map((l) => l.replace(/^(\S).*? (c\/.*)$/, "$1 $2"));
  assert.deepEqual(entries, ["d c/a/", "- c/a/second", "h c/a/third link to c/a/second", "d c/b/", "h c/b/fourth link to c/a/second"]);
});

test("withDirectory of another container's directory keeps its hard links", async () => {
  const dir = makeTree(fresh("src"), { "x/one": "1\n", two: "2\n" }, [["x/link", "x/one"]]);
  const layout = await exportLayout((c) => {
    const first = c.container().withDirectory("/src", c.host().directory(dir));
    return c.container().withDirectory("/copy", first.directory("/src/x"));
  });
  assert.deepEqual(listing(layout), ["- copy/link 2", "h copy/one -> copy/link"]);
});

test("names that sort across a directory's contents (a, a.b, a/x) come out in tar order from the walk", async () => {
  const dir = makeTree(fresh("order"), { "a/x": "1", "a.b": "2", "a-c/y": "3", "a0": "4", "é": "5", "\u{1F600}": "6", "\uFFFD": "7" });
  const layout = await exportLayout((c) => c.container().withDirectory("/", c.host().directory(dir)));
  const paths = listing(layout).map((l) => l.split(" ")[1]!.replace(/\/$/, ""));
  const sorted = [...paths].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  assert.deepEqual(paths, sorted);
  assert.deepEqual(paths, ["a", "a-c", "a-c/y", "a.b", "a/x", "a0", "é", "\uFFFD", "\u{1F600}"]);
});

test("withDirectory's own exclude: the first name left is the file", async () => {
  const dir = makeTree(fresh("excl"), { "a/one": "1\n" }, [["b", "a/one"], ["c", "a/one"]]);
  const layout = await exportLayout((c) => c.container().withDirectory("/x", c.host().directory(dir), { exclude: ["a"] }));
  assert.deepEqual(listing(layout), ["- x/b 2", "h x/c -> x/b"]);
});
