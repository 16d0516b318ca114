// The host-file digest memo (src/engine/hash-cache.ts): read and written as
// the walk goes, in walk order; an unchanged file is not read again, a
// changed one is; rows of files a walk no longer visits go.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { linkSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "../../src/index.js";
import { tempDir } from "../helpers/tmp.js";
import { sha256 } from "../../src/oci/digest.js";

const t = tempDir("lading-hash-memo-");
after(t.cleanup);

const T = 1_700_000_000;

function memoRows(store: string): Array<[string, number, number, number, number, string]> {
  const dir = join(store, "lading", "hashcache");
  const files = readdirSync(dir).filter((f) => f.endsWith(".rows"));
  assert.equal(files.length, 1, files.join(", "));
  return readFileSync(join(dir, files[0]!), "utf8").trim().split("\n").map((l) => JSON.parse(l));
}

function writeRows(store: string, rows: unknown[]): void {
  const dir = join(store, "lading", "hashcache");
  const file = readdirSync(dir).find((f) => f.endsWith(".rows"))!;
  writeFileSync(join(dir, file), rows.map((r) => JSON.stringify(r) + "\n").join(""));
}

test("an unchanged file's digest comes from the memo, a changed one is read; rows of files no longer walked go", async () => {
  const ctx = join(t.path, "ctx");
  mkdirSync(join(ctx, "a"), { recursive: true });
  for (const [p, c] of [["a/x", "x\n"], ["a.b", "ab\n"], ["z", "z\n"], ["\u00e9t\u00e9", "e\n"]]) {
    writeFileSync(join(ctx, p!), c!);
    utimesSync(join(ctx, p!), T, T);
  }
  const store = join(t.path, "store");
  const key = (exclude: string[] = []) => connect((c) => c.host().directory(ctx, { exclude }).digest(), { store });
  const first = await key();
  const rows = memoRows(store);
  assert.deepEqual(rows.map((r) => r[0]), ["a.b", "a/x", "z", "\u00e9t\u00e9"], "in walk (tar) order, by path in the directory");

  // A wrong digest in the memo for an unchanged file is believed: the file was not read.
  writeRows(store, rows.map((r) => (r[0] === "z" ? [...r.slice(0, 5), `sha256:${"0".repeat(64)}`] : r)));
  assert.notEqual(await key(), first);
  // Once the file changes (its ctime does, even with size and mtime kept), it is read again.
  writeFileSync(join(ctx, "z"), "z\n");
  utimesSync(join(ctx, "z"), T, T);
  assert.equal(await key(), first);

  // A walk that leaves a.b out forgets it (as it would a deleted file); the others stay.
  await key(["a.b"]);
  assert.deepEqual(memoRows(store).map((r) => r[0]), ["a/x", "z", "\u00e9t\u00e9"]);
});

test("files hashed on the hashing thread (a context of thousands) get their own digests, in walk order", async () => {
  const ctx = join(t.path, "many");
  const expected = new Map<string, string>();
  for (let d = 0; d < 5; d++) {
    mkdirSync(join(ctx, `d${d}`), { recursive: true });
    for (let f = 0; f < 600; f++) {
      const p = `d${d}/f${f}`;
      const content = `file ${p}\n`.repeat(1 + (f % 7));
      writeFileSync(join(ctx, p), content);
      utimesSync(join(ctx, p), T, T);
      expected.set(p, sha256(Buffer.from(content)));
    }
  }
  // Other names of files hashed before (on this thread, d0, and on the hashing thread, d3): their digests are the same.
  for (let f = 0; f < 50; f++) {
    for (const [name, target] of [[`d4/l${f}`, `d0/f${f}`], [`d4/z${f}`, `d3/f${f + 500}`]] as const) {
      linkSync(join(ctx, target), join(ctx, name));
      expected.set(name, expected.get(target)!);
    }
  }
  const store = join(t.path, "store-many");
  const first = await connect((c) => c.host().directory(ctx).digest(), { store });
  const rows = memoRows(store);
  assert.equal(rows.length, 3100);
  for (const r of rows) assert.equal(r[5], expected.get(r[0]), r[0]);
  // From the memo alone, the same key.
  assert.equal(await connect((c) => c.host().directory(ctx).digest(), { store }), first);
});

test("one file of a host directory is found alone, with the directory's exclusions", async () => {
  const ctx = join(t.path, "one");
  mkdirSync(join(ctx, "keep", "deep"), { recursive: true });
  mkdirSync(join(ctx, "gone"), { recursive: true });
  for (const p of ["keep/deep/a.txt", "keep/b.log", "gone/c.txt", "gone/back.txt"]) writeFileSync(join(ctx, p), `${p}\n`);
  const got = await connect(async (c) => {
    const d = c.host().directory(ctx, { exclude: ["**/*.log", "gone", "!gone/back.txt"] });
    const read = (p: string) => d.file(p).contents().catch((e: { code?: string }) => e.code);
    return [await read("keep/deep/a.txt"), await read("keep/b.log"), await read("gone/c.txt"), await read("gone/back.txt"), await read("nope"), await read("keep")];
  }, { store: join(t.path, "store-one") });
  assert.deepEqual(got, ["keep/deep/a.txt\n", "NOT_FOUND", "NOT_FOUND", "gone/back.txt\n", "NOT_FOUND", "INVALID_ARGUMENT"]);
});
