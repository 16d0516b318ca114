/**
 * Extended attribute values are byte strings, and some are binary
 * (security.capability): they must go through write → read → extract
 * unchanged, and tar programs other than lading must see the same bytes.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { extractLayer } from "../../src/oci/extract.js";
import { readTarEntries } from "../../src/oci/tar-reader.js";
import { tarStream } from "../../src/oci/tar-writer.js";
import type { LayerEntry } from "../../src/oci/layer-entry.js";
import { makeTree } from "../../src/engine/tree.js";
import { tempDir } from "../helpers/tmp.js";

const t = tempDir("lading-xattr-bytes-");
after(t.cleanup);

const BIN = Buffer.from([0x00, 0xff, 0x10, 0x0a, 0x3d, 0xc3]); // NUL, invalid UTF-8, a newline, "=", a cut-off UTF-8 lead byte
const entries = (): LayerEntry[] => [
  { path: "bin", type: "file", mode: 0o644, uid: 0, gid: 0, size: 1, open: () => Readable.from([Buffer.from("b")]), xattrs: { "user.bin": BIN, "user.text": "ünï", "user.empty": new Uint8Array(0) } },
  { path: "dir", type: "directory", mode: 0o755, uid: 0, gid: 0, xattrs: { "user.d": Uint8Array.from([1, 2, 3]) } },
];

/** getfattr's hex dump of one file's user.* attributes: name → hex. */
function hexAttrs(path: string): Record<string, string> {
  const out = execFileSync("getfattr", ["--absolute-names", "-d", "-m", "^user\\.", "-e", "hex", path], { encoding: "latin1" });
  const attrs: Record<string, string> = {};
  for (const l of out.split("\n")) {
    const m = /^([^#=][^=]*)=(.*)$/.exec(l);
    if (m) attrs[m[1]] = m[2] === '""' ? "" : m[2].replace(/^0x/, "");
  }
  return attrs;
}

function userXattrsWork(dir: string): boolean {
  const p = join(dir, "probe");
  writeFileSync(p, "");
  return spawnSync("setfattr", ["-n", "user.probe", "-v", "1", p]).status === 0;
}

test("binary xattr values are written raw into SCHILY.xattr records and read back byte for byte", async () => {
  const tar = await buffer(tarStream(entries()));
  // The exact record, as Go's archive/tar and GNU tar write it: "<len> SCHILY.xattr.user.bin=<bytes>\n".
  const record = Buffer.concat([Buffer.from(" SCHILY.xattr.user.bin="), BIN, Buffer.from("\n")]);
  assert.ok(tar.includes(Buffer.concat([Buffer.from(String(record.length + 2)), record])), "raw record missing");
  assert.ok(tar.includes(Buffer.from("28 SCHILY.xattr.user.empty=\n")));
  const seen: Record<string, Record<string, string>> = {};
  for await (const { header } of readTarEntries(Readable.from([tar]))) {
    seen[header.name] = Object.fromEntries(Object.entries(header.xattrs ?? {}).map(([k, v]) => [k, v.toString("hex")]));
  }
  assert.deepEqual(seen, {
    bin: { "user.bin": BIN.toString("hex"), "user.empty": "", "user.text": Buffer.from("ünï").toString("hex") },
    dir: { "user.d": "010203" },
  });
});

test("a string value and the same bytes make the same tar; entries without xattrs are unchanged", async () => {
  const asText = await buffer(tarStream([{ path: "f", type: "file", mode: 0o644, uid: 0, gid: 0, size: 0, xattrs: { "user.a": "ü" } }]));
  const asBytes = await buffer(tarStream([{ path: "f", type: "file", mode: 0o644, uid: 0, gid: 0, size: 0, xattrs: { "user.a": Buffer.from("ü") } }]));
  assert.deepEqual(asBytes, asText);
  const none = await buffer(tarStream([{ path: "f", type: "file", mode: 0o644, uid: 0, gid: 0, size: 0 }]));
  assert.equal(none.length, 512 + 1024, "no PAX header without xattrs");
});

test("extraction sets the exact bytes, as GNU tar does from the same tar", async (ctx) => {
  if (!userXattrsWork(t.path)) return ctx.skip(`user.* xattrs are not supported on ${t.path}'s filesystem`);
  const tar = await buffer(tarStream(entries()));
  const ours = join(t.path, "ours");
  await extractLayer(Readable.from([tar]), ours);
  const gnu = join(t.path, "gnu");
  mkdirSync(gnu);
  writeFileSync(join(t.path, "l.tar"), tar);
  execFileSync("tar", ["--xattrs", "--xattrs-include=user.*", "-xf", join(t.path, "l.tar"), "-C", gnu]);
  const want = { "user.bin": BIN.toString("hex"), "user.empty": "", "user.text": Buffer.from("ünï").toString("hex") };
  assert.deepEqual(hexAttrs(join(ours, "bin")), want);
  assert.deepEqual(hexAttrs(join(gnu, "bin")), want);
  assert.deepEqual(hexAttrs(join(ours, "dir")), { "user.d": "010203" });
});

test("tree keys hash byte values deterministically and tell different bytes apart", () => {
  const tree = (v: Uint8Array | string) => makeTree([{ path: "f", type: "file", mode: 0o644, uid: 0, gid: 0, size: 0, xattrs: { "user.a": v } }]).key;
  assert.equal(tree(Buffer.from([0, 255])), tree(Uint8Array.from([0, 255])));
  assert.notEqual(tree(Buffer.from([0, 255])), tree(Buffer.from([0, 254])));
  assert.notEqual(tree(Buffer.from([0, 255])), tree("\u0000\u00ff"));
});
