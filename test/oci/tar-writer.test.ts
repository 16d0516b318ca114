import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, writeFileSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { createGunzip } from "node:zlib";
import { Store } from "../../src/store/store.js";
import { sha256 } from "../../src/oci/digest.js";
import { LadingError } from "../../src/errors.js";
import { tarStream } from "../../src/oci/tar-writer.js";
import { writeLayer } from "../../src/oci/layer-writer.js";
import { whiteoutEntry, opaqueEntry, type LayerEntry } from "../../src/oci/layer-entry.js";
import tar from "tar-stream";
import { tempDir } from "../helpers/tmp.js";

const t = tempDir("lading-tarw-");
after(t.cleanup);

function file(path: string, content: string | Buffer, extra: Partial<LayerEntry> = {}): LayerEntry {
  const data = Buffer.from(content);
  return { path, type: "file", mode: 0o644, uid: 0, gid: 0, size: data.length, open: () => Readable.from([data]), ...extra };
}
const dir = (path: string, extra: Partial<LayerEntry> = {}): LayerEntry => ({ path, type: "directory", mode: 0o755, uid: 0, gid: 0, ...extra });

/** GNU tar's verbose listing, numeric owners, full times: what a user of the layer sees. */
function gnuList(tar: Buffer): string[] {
  const p = join(t.path, `list-${Math.random().toString(36).slice(2)}.tar`);
  writeFileSync(p, tar);
  return execFileSync("tar", ["--numeric-owner", "--full-time", "-tvf", p], { encoding: "utf8" }).trim().split("\n");
}

test("entries come out sorted bytewise, directories with a trailing slash, owners numeric, times fixed", async () => {
  const tar = await buffer(
    tarStream([file("b/z", "zz"), dir("b"), file("a-b", "x", { mtime: 1_700_000_000 }), dir("a"), file("a/c", "c", { uid: 1000, gid: 1000 })]),
  );
  const names = gnuList(tar).map((l) => l.split(/\s+/).slice(5).join(" "));
  assert.deepEqual(names, ["a/", "a-b", "a/c", "b/", "b/z"]);
  const lines = gnuList(tar);
  assert.match(lines[0], /^drwxr-xr-x 0\/0 +0 1970-01-01 00:00:00 a\/$/);
  assert.match(lines[2], /^-rw-r--r-- 1000\/1000 +1 1970-01-01 00:00:00 a\/c$/);
  assert.match(lines[1], /2023-11-14 22:13:20 a-b$/);
  // uname/gname empty, ustar magic, ends with exactly two zero blocks.
  assert.equal(tar.subarray(257, 265).toString("latin1"), "ustar\u000000");
  assert.equal(tar.subarray(265, 265 + 64).every((b) => b === 0), true);
  assert.equal(tar.length % 512, 0);
  assert.equal(tar.subarray(tar.length - 1024).every((b) => b === 0), true);
});

test("names beyond U+FFFF sort by their UTF-8 bytes, not by JavaScript's UTF-16 order", async () => {
  // U+FFFD is EF BF BD in UTF-8, U+1F600 is F0 9F 98 80: bytewise U+FFFD comes first,
  // while in UTF-16 the emoji's surrogate (D83D) sorts before FFFD.
  const names = async (paths: string[]) => {
    const extract = tar.extract();
    Readable.from(await buffer(tarStream(paths.map((p) => file(p, p))))).pipe(extract);
    const out: string[] = [];
    for await (const entry of extract) {
      out.push(entry.header.name);
      entry.resume();
    }
    return out;
  };
  assert.deepEqual(await names(["a\u{1F600}", "a\uFFFD", "b"]), ["a\uFFFD", "a\u{1F600}", "b"]);
  assert.deepEqual(await names(["\u00e4", "b", "a"]), ["a", "b", "\u00e4"]);
});

test("same entries give the same bytes; sourceDateEpoch sets generated times and clamps given ones", async () => {
  const mk = () => [file("x", "1", { mtime: 2_000_000_000 }), file("y", "2"), dir("d", { mtime: 5 })];
  const a = await buffer(tarStream(mk(), { sourceDateEpoch: 1_000_000_000 }));
  const b = await buffer(tarStream(mk().reverse(), { sourceDateEpoch: 1_000_000_000 }));
  assert.deepEqual(a, b);
  const lines = gnuList(a);
  assert.match(lines.find((l) => l.endsWith(" x"))!, /2001-09-09 01:46:40 x$/);
  assert.match(lines.find((l) => l.endsWith(" y"))!, /2001-09-09 01:46:40 y$/);
  assert.match(lines.find((l) => l.endsWith(" d/"))!, /1970-01-01 00:00:05 d\/$/);
});

test("clampMtime false keeps given times past the epoch; generated entries still get it", async () => {
  const lines = gnuList(await buffer(tarStream([file("x", "1", { mtime: 2_000_000_000 }), file("y", "2")], { sourceDateEpoch: 1_000_000_000, clampMtime: false })));
  assert.match(lines.find((l) => l.endsWith(" x"))!, /2033-05-18 03:33:20 x$/);
  assert.match(lines.find((l) => l.endsWith(" y"))!, /2001-09-09 01:46:40 y$/);
});

test("long and non-ASCII names, long links, big ids and xattrs round-trip through GNU tar via PAX", async () => {
  const longName = "d/" + "n".repeat(150) + "/" + "f".repeat(120);
  const entries: LayerEntry[] = [
    file(longName, "long"),
    file("héllo/wörld", "utf8"),
    { path: "l", type: "symlink", mode: 0o777, uid: 0, gid: 0, linkname: "/" + "t".repeat(200) },
    file("big-ids", "", { uid: 3_000_000, gid: 4_000_000 }),
    file("attrs", "a", { xattrs: { "user.b": "2", "user.a": "1" } }),
  ];
  const tar = await buffer(tarStream(entries));
  const dest = join(t.path, "pax-out");
  mkdirSync(dest);
  const p = join(t.path, "pax.tar");
  writeFileSync(p, tar);
  execFileSync("tar", ["--numeric-owner", "--xattrs", "--xattrs-include=user.*", "-xf", p, "-C", dest]);
  assert.equal(readFileSync(join(dest, longName), "utf8"), "long");
  assert.equal(readFileSync(join(dest, "héllo/wörld"), "utf8"), "utf8");
  const listing = gnuList(tar).join("\n");
  assert.match(listing, /3000000\/4000000 .* big-ids/);
  assert.match(listing, new RegExp(`l -> /${"t".repeat(200)}`));
  // The PAX header has a fixed name and sorted records.
  assert.ok(tar.includes(Buffer.from("PaxHeaders.0/attrs")));
  assert.ok(tar.includes(Buffer.from("25 SCHILY.xattr.user.a=1\n25 SCHILY.xattr.user.b=2\n")));
  // A plain short ASCII entry gets no PAX header.
  const plain = await buffer(tarStream([file("short", "s")]));
  assert.equal(plain.length, 512 + 512 + 1024);
});

test("hardlinks sorted before their target are turned around so the data comes first", async () => {
  const tar = await buffer(
    tarStream([file("z/orig", "data"), { path: "a/link", type: "hardlink", mode: 0o644, uid: 0, gid: 0, linkname: "z/orig" }, dir("a"), dir("z")]),
  );
  const lines = gnuList(tar);
  assert.match(lines[1], /^-rw-r--r-- 0\/0 +4 .* a\/link$/);
  assert.match(lines[3], /^hrw-r--r-- 0\/0 +0 .* z\/orig link to a\/link$/);
});

test("whiteouts and opaque markers are empty files with mode 0", async () => {
  assert.equal(whiteoutEntry("a/b").path, "a/.wh.b");
  assert.equal(whiteoutEntry("top").path, ".wh.top");
  assert.equal(opaqueEntry("a").path, "a/.wh..wh..opq");
  const lines = gnuList(await buffer(tarStream([whiteoutEntry("a/b"), opaqueEntry("c")])));
  assert.match(lines[0], /^---------- 0\/0 +0 1970-01-01 00:00:00 a\/\.wh\.b$/);
  assert.match(lines[1], /^---------- 0\/0 +0 1970-01-01 00:00:00 c\/\.wh\.\.wh\.\.opq$/);
});

test("invalid paths, duplicates and wrong sizes are refused with INVALID_ARGUMENT", async () => {
  const bad: LayerEntry[][] = [
    [file("../etc/passwd", "x")],
    [file("/abs", "x")],
    [file("a/./b", "x")],
    [file("a/", "x")],
    [file("", "x")],
    [file("dup", "1"), file("dup", "2")],
    [{ ...file("short", "abc"), size: 5 }],
    [{ ...file("long", "abcdef"), size: 2 }],
    [{ path: "h", type: "hardlink", mode: 0, uid: 0, gid: 0, linkname: "../x" }],
  ];
  for (const entries of bad) {
    for (const sort of [true, false, "presorted"] as const) {
      await assert.rejects(buffer(tarStream(entries, { sort })), (e: unknown) => e instanceof LadingError && e.code === "INVALID_ARGUMENT", JSON.stringify(entries[0].path));
    }
  }
});

test("presorted entries, taken one at a time, give the sorted bytes; one out of order is refused", async () => {
  const entries = () => [dir("a"), file("a-b", "x"), file("a.c", "y"), file("a/c", "c"), dir("b"), file("b/\u{1F600}", "e"), file("b/\uFFFD", "r")].sort((x, y) => Buffer.compare(Buffer.from(x.path), Buffer.from(y.path)));
  const sorted = await buffer(tarStream(entries()));
  // A generator (nothing held) and an async one give the same bytes as sorting.
  assert.deepEqual(await buffer(tarStream((function* () { yield* entries(); })(), { sort: "presorted" })), sorted);
  assert.deepEqual(await buffer(tarStream((async function* () { yield* entries(); })(), { sort: "presorted" })), sorted);
  const store = await Store.open(join(t.path, "presorted-store"));
  const a = await writeLayer(store, entries(), {});
  const b = await writeLayer(store, (function* () { yield* entries(); })(), { sort: "presorted" });
  assert.deepEqual(b, a);
  for (const wrong of [[file("b", "1"), file("a", "2")], [file("a/c", "1"), file("a.b", "2")], [file("b/\u{1F600}", "1"), file("b/\uFFFD", "2")]]) {
    await assert.rejects(buffer(tarStream((function* () { yield* wrong; })(), { sort: "presorted" })), (e: unknown) => e instanceof LadingError && e.code === "INVALID_ARGUMENT" && /sorts before it/.test(e.message));
  }
});

test("writeLayer stores the compressed blob; diffId is the uncompressed tar's digest; nothing is stored on error", async () => {
  const store = await Store.open(join(t.path, "store"));
  const entries = () => [dir("etc"), file("etc/motd", "hello\n"), file("generated", "g")];
  for (const compression of ["gzip", "zstd", "none"] as const) {
    const ref = await writeLayer(store, entries(), { compression });
    const blob = readFileSync(store.blobPath(ref.descriptor.digest));
    assert.equal(sha256(blob), ref.descriptor.digest);
    assert.equal(blob.length, ref.descriptor.size);
    const tar = compression === "gzip" ? await buffer(Readable.from([blob]).pipe(createGunzip())) : compression === "zstd" ? execFileSync("zstd", ["-dc"], { input: blob }) : blob;
    assert.equal(sha256(tar), ref.diffId);
    assert.deepEqual(tar, await buffer(tarStream(entries())));
    assert.equal(ref.descriptor.mediaType, { gzip: "application/vnd.oci.image.layer.v1.tar+gzip", zstd: "application/vnd.oci.image.layer.v1.tar+zstd", none: "application/vnd.oci.image.layer.v1.tar" }[compression]);
  }
  const docker = await writeLayer(store, entries(), { mediaTypes: "Docker" });
  assert.equal(docker.descriptor.mediaType, "application/vnd.docker.image.rootfs.diff.tar.gzip");
  const before = (await store.listBlobs()).length;
  await assert.rejects(writeLayer(store, [file("x", "abc", { size: 10 })]), (e: unknown) => e instanceof LadingError && e.code === "INVALID_ARGUMENT");
  assert.equal((await store.listBlobs()).length, before);
});

test("an aborted writeLayer fails with CANCELLED and stores nothing", async () => {
  const store = await Store.open(join(t.path, "abort-store"));
  const ac = new AbortController();
  const chunk = Buffer.alloc(64 * 1024, 7);
  const size = 64 * chunk.length;
  // A file whose stream aborts the write halfway through.
  const slow: LayerEntry = {
    path: "big",
    type: "file",
    mode: 0o644,
    uid: 0,
    gid: 0,
    size,
    open: () =>
      Readable.from(
        (async function* () {
          for (let i = 0; i < 64; i++) {
            if (i === 32) ac.abort();
            yield chunk;
          }
        })(),
      ),
  };
  await assert.rejects(writeLayer(store, [slow], { signal: ac.signal }), (e: unknown) => e instanceof LadingError && e.code === "CANCELLED");
  assert.deepEqual(await store.listBlobs(), []);
});

test("files with a host path are read from it, small and large, and a changed file is refused", async () => {
  const src = join(t.path, "host-src");
  mkdirSync(src, { recursive: true });
  const small = Buffer.from("small file\n");
  const medium = Buffer.alloc(100 * 1024 + 5, 0x62); // read straight into the writer's batch, which it does not fit after the small one
  const large = Buffer.alloc(2.5 * 1024 * 1024 + 3, 0x61); // past the read-ahead limit and more than one read
  large.write("tail", large.length - 4);
  writeFileSync(join(src, "small"), small);
  writeFileSync(join(src, "medium"), medium);
  writeFileSync(join(src, "large"), large);
  writeFileSync(join(src, "empty"), "");
  const host = (name: string, size: number): LayerEntry => ({ path: name, type: "file", mode: 0o644, uid: 0, gid: 0, size, hostPath: join(src, name) });
  const names = ["small", "medium", "medium2", "large", "empty"];
  writeFileSync(join(src, "medium2"), medium);
  const contents: Record<string, Buffer> = { small, medium, medium2: medium, large, empty: Buffer.alloc(0) };
  const viaHost = await buffer(tarStream(names.map((n) => host(n, contents[n]!.length))));
  const viaOpen = await buffer(tarStream(names.map((n) => file(n, contents[n]!))));
  assert.deepEqual(viaHost, viaOpen);

  // Read by the tar stream, by a gzip layer on this thread (one block), and by
  // the compressing threads (after a 2 MiB filler, the file is in a later block).
  const store = await Store.open(join(t.path, "host-store"));
  const filler = file("0-filler", Buffer.alloc(2 * 1024 * 1024, 0x66));
  const layerOf = async (entries: LayerEntry[]) => (await writeLayer(store, entries)).diffId;
  const readers: Array<[string, (e: LayerEntry) => Promise<unknown>]> = [
    ["tar stream", (e) => buffer(tarStream([e]))],
    ["gzip layer", (e) => layerOf([e])],
    ["gzip layer, compressing threads", (e) => layerOf([filler, e])],
    // Blocks after the failing one wait for its turn on the digest chains: they must not wait forever.
    ["gzip layer, compressing threads, blocks after", (e) => layerOf([filler, e, file("z-after", Buffer.alloc(3 * 1024 * 1024, 0x7a))])],
  ];
  const viaOpenWithFiller = await buffer(tarStream([filler, ...names.map((n) => file(n, contents[n]!))]));
  assert.equal(await layerOf([filler, ...names.map((n) => host(n, contents[n]!.length))]), sha256(viaOpenWithFiller));
  assert.equal(await layerOf(names.map((n) => host(n, contents[n]!.length))), sha256(viaOpen));

  for (const [how, read] of readers) {
    // Grown, shrunk, or gone since it was listed: the sizes no longer match, or the file is missing.
    for (const [name, size] of [["small", small.length - 1], ["small", small.length + 1], ["medium", medium.length + 1], ["large", large.length - 1], ["large", large.length + 1], ["empty", 1]] as const) {
      await assert.rejects(read(host(name, size)), (e: unknown) => e instanceof LadingError && e.code === "INVALID_ARGUMENT" && /did the file change/.test(e.message) && e.message.includes(`"${name}"`), `${how}: ${name} ${size}`);
    }
    await assert.rejects(read(host("missing", 3)), (e: unknown) => e instanceof LadingError && e.code === "NOT_FOUND" && e.message.includes("missing"), how);
    writeFileSync(join(src, "now-full"), "x");
    await assert.rejects(read(host("now-full", 0)), (e: unknown) => e instanceof LadingError && e.code === "INVALID_ARGUMENT" && /did the file change/.test(e.message), `${how}: an empty file that grew`);
  }

  // Replaced since it was listed: a symlink is not followed (it could point anywhere on the host), a FIFO does not hang.
  writeFileSync(join(src, "secret"), "host secret\n");
  for (const [name, size] of [["small", small.length], ["large", large.length]] as const) {
    rmSync(join(src, name));
    symlinkSync(join(src, "secret"), join(src, name));
    for (const [how, read] of readers) {
      await assert.rejects(read(host(name, size)), (e: unknown) => e instanceof LadingError && e.code === "INVALID_ARGUMENT" && /now a symlink/.test(e.message), `${how}: ${name}`);
    }
    rmSync(join(src, name));
    execFileSync("mkfifo", [join(src, name)]);
    for (const [how, read] of readers) {
      await assert.rejects(read(host(name, size)), (e: unknown) => e instanceof LadingError && e.code === "INVALID_ARGUMENT" && /did the file change/.test(e.message), `${how}: ${name} as a FIFO`);
    }
  }
  // Failed layers leave nothing behind.
  assert.deepEqual(readdirSync(join(store.root, "lading", "tmp")), []);
});

test("files read ahead keep their order; a failing one fails at its turn and the others are released", async () => {
  const opened: string[] = [];
  const destroyed: string[] = [];
  const tracked = (path: string, content: string, fail = false): LayerEntry => ({
    path,
    type: "file",
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: content.length,
    open: () => {
      opened.push(path);
      const r = Readable.from(
        (async function* () {
          if (fail) throw new Error(`cannot read ${path}`);
          yield Buffer.from(content);
        })(),
      );
      r.once("close", () => destroyed.push(path));
      return r;
    },
  });
  const names = Array.from({ length: 40 }, (_, i) => `f${String(i).padStart(2, "0")}`);
  // All good: the same bytes as files read one by one, in path order.
  const tarOut = await buffer(tarStream(names.map((n) => tracked(n, `content of ${n}\n`))));
  const listed = gnuList(tarOut).map((l) => l.split(/\s+/).pop());
  assert.deepEqual(listed, names);
  // One fails: the error is that file's; every stream opened is closed again.
  opened.length = 0;
  destroyed.length = 0;
  const entries = names.map((n, i) => tracked(n, `content of ${n}\n`, i === 5));
  await assert.rejects(buffer(tarStream(entries)), /cannot read f05/);
  await new Promise((r) => setImmediate(r));
  assert.ok(opened.length > 6, `read ahead: ${opened.length} opened`);
  assert.deepEqual([...destroyed].sort(), [...opened].sort());
});
