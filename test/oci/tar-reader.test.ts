// Where a tar stream may end: at its end-of-archive blocks, at a header
// boundary, or inside the padding after an entry's data (Go's archive/tar
// reads all three as the end, and umoci 0.4's insert writes the last kind);
// anywhere else it is cut short and refused.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { readTarEntries } from "../../src/oci/tar-reader.js";
import { LadingError } from "../../src/errors.js";
import { tempDir } from "../helpers/tmp.js";
import { run } from "../helpers/tools.js";

const t = tempDir("lading-tar-reader-");
after(t.cleanup);

/** GNU tar's archive of dir/, dir/a (700 bytes) and dir/b (2 bytes), in that order. */
function gnuTar(): Buffer {
  const src = join(t.path, "src");
  mkdirSync(join(src, "dir"), { recursive: true });
  writeFileSync(join(src, "dir", "a"), "a".repeat(700));
  writeFileSync(join(src, "dir", "b"), "b\n");
  const out = join(t.path, "x.tar");
  run("tar", ["--format=gnu", "--no-recursion", "-C", src, "-cf", out, "dir", "dir/a", "dir/b"]);
  return readFileSync(out);
}

async function read(bytes: Buffer): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  for await (const { header, stream } of readTarEntries(Readable.from([bytes]))) {
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    out.push([header.name, Buffer.concat(chunks).toString()]);
  }
  return out;
}

const whole: Array<[string, string]> = [["dir", ""], ["dir/a", "a".repeat(700)], ["dir/b", "b\n"]];
// Offsets: dir/ header 0; dir/a header 512, data 1024–1724, padding to 2048; dir/b header 2048, data 2560–2562, padding to 3072; end blocks.
const tarBytes = gnuTar();

test("a whole tar, and one without its end-of-archive blocks, read the same", async () => {
  assert.deepEqual(await read(tarBytes), whole);
  assert.deepEqual(await read(tarBytes.subarray(0, 3072)), whole);
});

test("a tar that ends inside the padding after its last entry's data (as umoci insert writes) reads whole", async () => {
  assert.deepEqual(await read(tarBytes.subarray(0, 2562)), whole);
  assert.deepEqual(await read(tarBytes.subarray(0, 2800)), whole);
});

test("a tar cut inside an entry's data or a header is refused", async () => {
  // Cut in a header: the reader's own error.
  await assert.rejects(read(tarBytes.subarray(0, 2100)), (e: unknown) => e instanceof LadingError && e.code === "INVALID_IMAGE" && /reading a layer tar/.test(e.message));
  // Cut in data: the entry's stream fails while it is read.
  for (const cut of [2561, 1500, 1034]) await assert.rejects(read(tarBytes.subarray(0, cut)), `cut at ${cut}`);
});
