// A host directory copied into an image on a fresh store (issue 17, row 1;
// issue 22): each file is read once, by the pass that packs it, and the
// step's key is made of the digests that pass computes. The memo it leaves
// keys the next build without reading: the same key, so the step is found
// cached. A sub-directory (`COPY src/`) is walked on its own, and a rebuild
// of an unchanged context reads no file and rewrites no memo.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { linkSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type ProgressEvent, type StepEvent } from "../../src/index.js";
import { sha256 } from "../../src/oci/digest.js";
import { tempDir } from "../helpers/tmp.js";
import { has } from "../helpers/tools.js";

const t = tempDir("lading-read-once-");
after(t.cleanup);

const T = 1_700_000_000;
const indexModule = new URL("../../src/index.js", import.meta.url).href;
let n = 0;
const fresh = (name: string) => join(t.path, `${name}-${n++}`);

function fixTimes(dir: string): void {
  const r = spawnSync("find", [dir, "-exec", "touch", "-h", "-d", `@${T}`, "{}", "+"]);
  assert.equal(r.status, 0, String(r.stderr));
}

/** Writes `files` under a new directory; returns it with its files' digests. */
function context(files: Record<string, string | Buffer>, links: Array<[string, string]> = []): { dir: string; digests: Map<string, string> } {
  const dir = fresh("ctx");
  const digests = new Map<string, string>();
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(join(dir, p, ".."), { recursive: true });
    writeFileSync(join(dir, p), content);
    digests.set(p, sha256(Buffer.from(content)));
  }
  for (const [name, target] of links) {
    linkSync(join(dir, target), join(dir, name));
    digests.set(name, digests.get(target)!);
  }
  fixTimes(dir);
  return { dir, digests };
}

function memoRows(store: string): Array<[string, number, number, number, number, string | null]> {
  const dir = join(store, "lading", "hashcache");
  const files = readdirSync(dir).filter((f) => f.endsWith(".rows"));
  assert.equal(files.length, 1, files.join(", "));
  return readFileSync(join(dir, files[0]!), "utf8").trim().split("\n").map((l) => JSON.parse(l));
}

/** withDirectory("/p", host dir) into `store`: the image digest, the step's status (running → done, or cached) and its cache key. */
async function copyInto(store: string, dir: string): Promise<{ digest: string; status: string; key: unknown }> {
  const events: ProgressEvent[] = [];
  const digest = await connect((c) => c.container().withDirectory("/p", c.host().directory(dir)).digest(), { store, log: (e) => void events.push(e) });
  const step = events.filter((e): e is StepEvent => e.type === "step" && e.name === "withDirectory /p" && e.status !== "running");
  assert.equal(step.length, 1, JSON.stringify(step));
  return { digest, status: step[0]!.status, key: step[0]!.attributes?.["lading.cache.key"] };
}

test("on a fresh store the pack's own read keys the step: the same image and memo as a key read first, and the next build finds it cached", async () => {
  // Enough small files for the compressing threads (several 1 MiB blocks), a file spread over blocks, an empty one, hard links, a symlink.
  const files: Record<string, string | Buffer> = { "big.bin": Buffer.alloc(3 * 1024 * 1024 + 17, 7), "empty": "", "z/last.txt": "last\n" };
  for (let i = 0; i < 3000; i++) files[`d${i % 7}/f${i}.txt`] = `file ${i}\n`.repeat(1 + (i % 50));
  const { dir, digests } = context(files, [["z/link-to-f1", "d1/f1.txt"], ["a-first-name", "d3/f3.txt"]]);
  symlinkSync("d0/f0.txt", join(dir, "sym"));

  const cold = fresh("store");
  const first = await copyInto(cold, dir);
  assert.equal(first.status, "done");
  // A store that keyed the directory first (every file read for its key), then packed it.
  const keyedFirst = fresh("store");
  const key = await connect((c) => c.host().directory(dir).digest(), { store: keyedFirst });
  assert.equal((await copyInto(keyedFirst, dir)).digest, first.digest, "the same image either way");
  assert.equal(await connect((c) => c.host().directory(dir).digest(), { store: cold }), key, "the key from the pack's digests is the key");
  const rows = memoRows(cold);
  assert.deepEqual(rows, memoRows(keyedFirst));
  assert.equal(rows.length, digests.size);
  for (const r of rows) assert.equal(r[5], digests.get(r[0]), r[0]);
  assert.match(String(first.key), /^sha256:[0-9a-f]{64}$/, "the step's done event says its key");
  assert.deepEqual(await copyInto(cold, dir), { digest: first.digest, status: "cached", key: first.key });
});

test("a zstd layer keys the step from its own read too", async () => {
  const { dir } = context({ "a.txt": "a\n", "b/c.txt": "c\n".repeat(1000), "b/d": "" }, [["e", "a.txt"]]);
  const store = fresh("store");
  const d = await connect((c) => c.container().withDirectory("/p", c.host().directory(dir)).digest(), { store, compression: "Zstd" });
  const key = await connect((c) => c.host().directory(dir).digest(), { store: fresh("store") });
  assert.equal(await connect((c) => c.host().directory(dir).digest(), { store }), key);
  assert.equal(await connect((c) => c.container().withDirectory("/p", c.host().directory(dir)).digest(), { store: fresh("store"), compression: "Zstd" }), d);
});

/** The context files `script` opens (strace), by path relative to `dir`, with how often. */
function opensOf(dir: string, script: string): Map<string, number> {
  const file = fresh("script") + ".mjs";
  writeFileSync(file, `import { connect } from ${JSON.stringify(indexModule)};\n${script}\n`);
  const trace = fresh("trace");
  const r = spawnSync("strace", ["-f", "-qq", "-e", "trace=open,openat", "-o", trace, process.execPath, file], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const counts = new Map<string, number>();
  for (const line of readFileSync(trace, "utf8").split("\n")) {
    const m = /open(?:at)?\([^"]*"([^"]+)"[^)]*\)\s*=\s*\d+/.exec(line);
    if (!m || !m[1]!.startsWith(dir + "/")) continue;
    if (statSync(m[1]!).isDirectory()) continue;
    const rel = m[1]!.slice(dir.length + 1);
    counts.set(rel, (counts.get(rel) ?? 0) + 1);
  }
  return counts;
}

test("on a fresh store each file is opened once, to be packed (not once more to be hashed)", { skip: has("strace") ? false : "strace is not installed" }, () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 40; i++) files[`src/f${i}.txt`] = `${i}\n`;
  const { dir } = context(files);
  const store = fresh("store");
  const opens = opensOf(dir, `await connect((c) => c.container().withDirectory("/p", c.host().directory(${JSON.stringify(dir)})).digest(), { store: ${JSON.stringify(store)} });`);
  assert.deepEqual([...opens.entries()].sort(), Object.keys(files).sort().map((p) => [p, 1]));
});

test("COPY of sub-directories: walked on their own, the same layers as a copy of each; an unchanged rebuild opens no file and leaves the memo as it was", { skip: has("strace") ? false : "strace is not installed" }, async () => {
  const { dir } = context({ "src/a.txt": "a\n", "src/x/b.txt": "b\n", "src.txt": "not src\n", "src-x/c": "c\n", "blobs/one": "1\n", "blobs/skip.log": "log\n", "Containerfile": "FROM scratch\nCOPY src/ /app/src/\nCOPY blobs/ /app/blobs/\n", ".dockerignore": "**/*.log\n" });
  const store = fresh("store");
  const { buildContainerfile } = await import("../../src/frontends/containerfile/index.js");
  const build = (s: string, ctx: string) => connect(async (c) => (await buildContainerfile(c, { file: join(ctx, "Containerfile"), context: ctx })).digest(), { store: s });
  const first = await build(store, dir);
  // The same layers from separate contexts holding only what each COPY takes.
  const { dir: apart } = context({ "src/a.txt": "a\n", "src/x/b.txt": "b\n", "blobs/one": "1\n", "Containerfile": "FROM scratch\nCOPY src/ /app/src/\nCOPY blobs/ /app/blobs/\n" });
  assert.equal(await build(fresh("store"), apart), first);
  const rows = memoRows(store).map((r) => r[0]);
  assert.deepEqual(rows, ["blobs/one", "src/a.txt", "src/x/b.txt"], "both sub-walks' rows, merged in walk order");
  const memoFile = join(store, "lading", "hashcache", readdirSync(join(store, "lading", "hashcache")).find((f) => f.endsWith(".rows"))!);
  const before = statSync(memoFile);
  const opens = opensOf(dir, `import { buildContainerfile } from ${JSON.stringify(new URL("../../src/frontends/containerfile/index.js", import.meta.url).href)};
const d = await connect(async (c) => (await buildContainerfile(c, { file: ${JSON.stringify(join(dir, "Containerfile"))}, context: ${JSON.stringify(dir)} })).digest(), { store: ${JSON.stringify(store)} });
if (d !== ${JSON.stringify(first)}) throw new Error("another digest: " + d);`);
  assert.deepEqual([...opens.keys()].filter((p) => p !== "Containerfile" && p !== ".dockerignore"), [], "no context file read");
  const after = statSync(memoFile);
  assert.deepEqual([after.ino, after.mtimeMs], [before.ino, before.mtimeMs], "the memo file is not rewritten");

  // A changed file below src/: the walk of src/ rewrites its rows, the rows of blobs/ stay as they were.
  const old = memoRows(store);
  writeFileSync(join(dir, "src/a.txt"), "changed\n");
  utimesSync(join(dir, "src/a.txt"), T, T);
  assert.notEqual(await build(store, dir), first);
  const now = memoRows(store);
  assert.deepEqual(now.map((r) => r[0]), rows);
  assert.deepEqual(now[0], old[0], "blobs/one kept");
  assert.equal(now[1]![5], sha256(Buffer.from("changed\n")));
  assert.deepEqual(now[2], old[2]);
});
