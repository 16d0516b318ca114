import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { fileURLToPath } from "node:url";
import tar from "tar-stream";
import { LadingError } from "../../src/errors.js";
import { extractLayer, extractLayerBlob } from "../../src/oci/extract.js";
import { readTarEntries } from "../../src/oci/tar-reader.js";
import { tarStream } from "../../src/oci/tar-writer.js";
import { writeLayer } from "../../src/oci/layer-writer.js";
import { opaqueEntry, whiteoutEntry, type LayerEntry } from "../../src/oci/layer-entry.js";
import { Store } from "../../src/store/store.js";
import { tempDir } from "../helpers/tmp.js";

const t = tempDir("lading-extract-");
after(t.cleanup);

type RawEntry = { name: string; type?: "file" | "directory" | "symlink" | "link" | "character-device" | "fifo"; linkname?: string; content?: string; mode?: number; devmajor?: number; devminor?: number };

/** A tar built with tar-stream directly, bypassing lading's validating writer. */
async function craft(entries: RawEntry[]): Promise<Buffer> {
  const p = tar.pack();
  for (const e of entries) {
    const content = Buffer.from(e.content ?? "");
    const type = e.type ?? "file";
    const header = { name: e.name, type, linkname: e.linkname, mode: e.mode ?? (type === "directory" ? 0o755 : 0o644), size: type === "file" ? content.length : 0, devmajor: e.devmajor, devminor: e.devminor };
    p.entry(header, type === "file" ? content : Buffer.alloc(0));
  }
  p.finalize();
  return buffer(p as unknown as Readable);
}

let n = 0;
/** A fresh jail: `<jail>/root` is the extraction root; nothing else may ever appear in `<jail>`. */
function jail(): { jail: string; root: string; outside: string } {
  const dir = join(t.path, `jail-${n++}`);
  mkdirSync(join(dir, "root"), { recursive: true });
  return { jail: dir, root: join(dir, "root"), outside: join(dir, "outside") };
}

function assertJailClean(j: { jail: string }): void {
  assert.deepEqual(readdirSync(j.jail), ["root"], "nothing may appear beside the extraction root");
}

const passwdBefore = readFileSync("/etc/passwd");
after(() => assert.deepEqual(readFileSync("/etc/passwd"), passwdBefore, "/etc/passwd must be untouched"));

function isUnsafe(name: string) {
  return (e: unknown) => e instanceof LadingError && e.code === "UNSAFE_ARCHIVE" && e.message.includes(name);
}

test("../../etc/x is refused with UNSAFE_ARCHIVE naming the entry", async () => {
  const j = jail();
  await assert.rejects(extractLayer(Readable.from([await craft([{ name: "../../etc/x", content: "x" }])]), j.root), isUnsafe("../../etc/x"));
  assert.equal(existsSync(join(t.path, "etc")), false);
  assertJailClean(j);
});

test("an absolute name is taken as relative to the root", async () => {
  const j = jail();
  await extractLayer(Readable.from([await craft([{ name: "/abs/path", content: "in root" }])]), j.root);
  assert.equal(readFileSync(join(j.root, "abs/path"), "utf8"), "in root");
  assert.equal(existsSync("/abs"), false);
  assertJailClean(j);
});

test("symlink a -> /etc then a/passwd writes root/etc/passwd, not /etc/passwd", async () => {
  const j = jail();
  await extractLayer(Readable.from([await craft([{ name: "a", type: "symlink", linkname: "/etc" }, { name: "a/passwd", content: "pwned" }])]), j.root);
  assert.equal(readFileSync(join(j.root, "etc/passwd"), "utf8"), "pwned");
  assert.equal(readlinkSync(join(j.root, "a")), "/etc");
  assertJailClean(j);
});

test("symlink a -> ../.. then a/x stays inside the root", async () => {
  const j = jail();
  await extractLayer(Readable.from([await craft([{ name: "a", type: "symlink", linkname: "../.." }, { name: "a/x", content: "x" }, { name: "a/a/a/y", content: "y" }])]), j.root);
  assert.equal(readFileSync(join(j.root, "x"), "utf8"), "x");
  assertJailClean(j);
});

test("a symlink to a path outside the jail is followed inside the root", async () => {
  const j = jail();
  await extractLayer(Readable.from([await craft([{ name: "d", type: "symlink", linkname: j.outside }, { name: "d/f", content: "f" }])]), j.root);
  assert.equal(readFileSync(join(j.root, j.outside, "f"), "utf8"), "f");
  assertJailClean(j);
});

test("hardlinks to /etc/passwd or ../outside never reach outside the root", async () => {
  const j = jail();
  await assert.rejects(extractLayer(Readable.from([await craft([{ name: "h", type: "link", linkname: "/etc/passwd" }])]), j.root), isUnsafe("h"));
  await assert.rejects(extractLayer(Readable.from([await craft([{ name: "h2", type: "link", linkname: "../outside" }])]), j.root), isUnsafe("h2"));
  // With the target inside the root, the absolute name means root/etc/passwd.
  await extractLayer(Readable.from([await craft([{ name: "etc/passwd", content: "mine" }, { name: "h3", type: "link", linkname: "/etc/passwd" }])]), j.root);
  assert.equal(lstatSync(join(j.root, "h3")).ino, lstatSync(join(j.root, "etc/passwd")).ino);
  // A hardlink to a symlink pointing out links the symlink, it does not follow it.
  await extractLayer(Readable.from([await craft([{ name: "s", type: "symlink", linkname: "/etc/passwd" }, { name: "h4", type: "link", linkname: "s" }])]), j.root);
  assert.ok(lstatSync(join(j.root, "h4")).isSymbolicLink());
  assertJailClean(j);
});

test("duplicates: the later entry wins, but never writes through a symlink", async () => {
  const j = jail();
  mkdirSync(j.outside);
  writeFileSync(join(j.outside, "target"), "original");
  await extractLayer(
    Readable.from([
      await craft([
        { name: "d", type: "directory" },
        { name: "d", type: "symlink", linkname: j.outside },
        { name: "d/target", content: "through dir symlink" },
        { name: "f", type: "symlink", linkname: join(j.outside, "target") },
        { name: "f", content: "replaced the symlink" },
      ]),
    ]),
    j.root,
  );
  assert.equal(readFileSync(join(j.outside, "target"), "utf8"), "original");
  assert.equal(readFileSync(join(j.root, "f"), "utf8"), "replaced the symlink");
  assert.ok(lstatSync(join(j.root, "f")).isFile());
  assert.ok(lstatSync(join(j.root, "d")).isSymbolicLink());
  assert.equal(readFileSync(join(j.root, j.outside, "target"), "utf8"), "through dir symlink");
  assert.deepEqual(readdirSync(j.jail).sort(), ["outside", "root"]);
});

const distRoot = fileURLToPath(new URL("../../", import.meta.url));
// The unprivileged child loads lading from this checkout: impossible when the checkout is private (a clone under /root).
const childCanLoad = process.getuid?.() !== 0 ? "needs root to start a child as uid 65534" : spawnSync("test", ["-r", join(distRoot, "src/oci/extract.js")], { uid: 65534, gid: 65534 }).status === 0 ? false : "this checkout is not readable by uid 65534";

test("a char device as non-root is skipped by default and refused with devices: error", { skip: childCanLoad }, async () => {
  const j = jail();
  const tarFile = join(j.jail, "dev.tar");
  // The tar sits beside root only for the child to read; removed before the jail check.
  writeFileSync(tarFile, await craft([{ name: "dev/null", type: "character-device", devmajor: 1, devminor: 3, mode: 0o666 }, { name: "ok", content: "ok" }]));
  chownSync(j.root, 65534, 65534);
  // The unprivileged child must be able to reach the root (mkdtemp makes 0700 dirs).
  chmodSync(t.path, 0o755);
  chmodSync(j.jail, 0o755);
  const script = (devices: string) =>
    `import(${JSON.stringify(join(distRoot, "src/oci/extract.js"))}).then(async (m) => {
       const { createReadStream } = await import("node:fs");
       try { await m.extractLayer(createReadStream(${JSON.stringify(tarFile)}), ${JSON.stringify(j.root)}, { devices: ${JSON.stringify(devices)} }); console.log("ok"); }
       catch (e) { console.log(e.code + " " + e.message); }
     })`;
  const run = (devices: string) => spawnSync(process.execPath, ["--input-type=module", "-e", script(devices)], { uid: 65534, gid: 65534, encoding: "utf8" });
  const skipped = run("skip");
  assert.equal(skipped.stdout.trim(), "ok", skipped.stderr);
  assert.equal(existsSync(join(j.root, "dev/null")), false);
  assert.equal(readFileSync(join(j.root, "ok"), "utf8"), "ok");
  const refused = run("error");
  assert.match(refused.stdout, /^UNSAFE_ARCHIVE .*dev\/null/);
  execFileSync("rm", ["-f", tarFile]);
  assertJailClean(j);
});

test("as root, device nodes and fifos are created", { skip: process.getuid?.() !== 0 }, async () => {
  const j = jail();
  await extractLayer(Readable.from([await craft([{ name: "dev/null", type: "character-device", devmajor: 1, devminor: 3, mode: 0o666 }, { name: "p", type: "fifo" }])]), j.root);
  const st = lstatSync(join(j.root, "dev/null"));
  assert.ok(st.isCharacterDevice());
  assert.equal(st.rdev, (1 << 8) | 3);
  assert.equal(st.mode & 0o7777, 0o666);
  assert.ok(lstatSync(join(j.root, "p")).isFIFO());
});

function f(path: string, content: string, extra: Partial<LayerEntry> = {}): LayerEntry {
  const b = Buffer.from(content);
  return { path, type: "file", mode: 0o644, uid: 0, gid: 0, size: b.length, open: () => Readable.from([b]), ...extra };
}
const d = (path: string, extra: Partial<LayerEntry> = {}): LayerEntry => ({ path, type: "directory", mode: 0o755, uid: 0, gid: 0, ...extra });

test("whiteouts and opaque directories across two layers", async () => {
  const j = jail();
  const lower = [d("a"), f("a/keep", "k"), f("a/gone", "g"), d("b"), f("b/old", "o"), d("b/sub"), f("b/sub/deep", "d"), d("c"), f("c/x", "x")];
  const upper = [whiteoutEntry("a/gone"), whiteoutEntry("c"), opaqueEntry("b"), d("b"), f("b/-early", "sorted before the marker"), f("b/new", "n"), d("b/sub"), f("b/sub/fresh", "f")];
  await extractLayer(tarStream(lower), j.root);
  await extractLayer(tarStream(upper), j.root);
  const list = (p: string) => readdirSync(join(j.root, p)).sort();
  assert.deepEqual(list(""), ["a", "b"]);
  assert.deepEqual(list("a"), ["keep"]);
  assert.deepEqual(list("b"), ["-early", "new", "sub"]);
  assert.deepEqual(list("b/sub"), ["fresh"]);
  // Without applyWhiteouts the markers are plain files (importing a tar that is not a layer stack).
  const k = jail();
  await extractLayer(tarStream(upper), k.root, { applyWhiteouts: false });
  assert.ok(existsSync(join(k.root, "a/.wh.gone")));
  assert.ok(existsSync(join(k.root, "b/.wh..wh..opq")));
});

test("modes (setuid included), owners, mtimes and xattrs are restored; directory times after their contents", async () => {
  const j = jail();
  const entries = [
    d("dir", { mode: 0o555, mtime: 1_000_000, uid: 1000, gid: 1001 }),
    f("dir/suid", "#!/bin/sh\n", { mode: 0o4755, uid: 1000, gid: 1001, mtime: 2_000_000, xattrs: { "user.note": "hello" } }),
    { path: "dir/link", type: "symlink", mode: 0o777, uid: 1000, gid: 1001, linkname: "suid", mtime: 3_000_000 } as LayerEntry,
  ];
  await extractLayer(tarStream(entries), j.root, { chown: true });
  const dir = lstatSync(join(j.root, "dir"));
  const suid = lstatSync(join(j.root, "dir/suid"));
  const link = lstatSync(join(j.root, "dir/link"));
  assert.equal(dir.mode & 0o7777, 0o555);
  assert.equal(dir.mtimeMs, 1_000_000_000);
  assert.equal(suid.mode & 0o7777, 0o4755);
  assert.equal(suid.uid, 1000);
  assert.equal(suid.gid, 1001);
  assert.equal(suid.mtimeMs, 2_000_000_000);
  assert.equal(link.uid, 1000);
  assert.equal(link.mtimeMs, 3_000_000_000);
  assert.match(execFileSync("getfattr", ["-n", "user.note", "--only-values", join(j.root, "dir/suid")], { encoding: "utf8" }), /^hello$/);
  // Owners are ignored when chown is false.
  const k = jail();
  await extractLayer(tarStream(entries), k.root, { chown: false });
  assert.equal(lstatSync(join(k.root, "dir/suid")).uid, process.getuid?.());
});

test("extractLayerBlob checks the diffId and decompresses gzip and zstd", async () => {
  const store = await Store.open(join(t.path, "store"));
  const entries = () => [d("etc"), f("etc/hostname", "box\n")];
  for (const compression of ["gzip", "zstd", "none"] as const) {
    const ref = await writeLayer(store, entries(), { compression });
    const j = jail();
    await extractLayerBlob(store, ref, j.root);
    assert.equal(readFileSync(join(j.root, "etc/hostname"), "utf8"), "box\n");
    const k = jail();
    const wrong = { ...ref, diffId: "sha256:" + "0".repeat(64) } as typeof ref;
    await assert.rejects(extractLayerBlob(store, wrong, k.root), (e: unknown) => e instanceof LadingError && e.code === "DIGEST_MISMATCH");
  }
});

test("readTarEntries yields normalised names and skips unread bodies", async () => {
  const input = Readable.from([await craft([{ name: "./a/b", content: "first" }, { name: "/c", content: "second" }, { name: "d/", type: "directory" }])]);
  const seen: Array<[string, string]> = [];
  let i = 0;
  for await (const { header, stream } of readTarEntries(input)) {
    seen.push([header.name, i++ === 1 ? (await buffer(stream)).toString() : ""]);
  }
  assert.deepEqual(seen, [["a/b", ""], ["c", "second"], ["d", ""]]);
  await assert.rejects(
    (async () => {
      for await (const _ of readTarEntries(Readable.from([await craft([{ name: "x/../../y" }])]))) void _;
    })(),
    isUnsafe("x/../../y"),
  );
});
