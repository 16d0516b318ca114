/**
 * Extended attributes a step sets come out in its layer, byte for byte,
 * through overlayfs and through the copy fallback (LADING_OVERLAY=0), and
 * land on the files again when the layer is unpacked.
 *
 * busybox has no setfattr, so the host's runs inside the container through
 * its own dynamic loader: setfattr, ld.so and the libraries `ldd` names are
 * copied into one directory, bind-mounted read-only at /.xt (the mount stub
 * is removed before the diff, so it never reaches the layer).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { createGunzip } from "node:zlib";
import { busybox, layerItems, rmAll, sh, type Busybox } from "./fixture.js";
import { extractLayerBlob } from "../../src/oci/extract.js";
import { readTarEntries } from "../../src/oci/tar-reader.js";
import type { LayerRef } from "../../src/oci/types.js";
import type { ExecMount } from "../../src/exec/run.js";
import { tempDir } from "../helpers/tmp.js";

const BIN = "00ff10"; // NUL and a byte that is not UTF-8
const X = "/.xt/ld --library-path /.xt /.xt/setfattr";
const SCRIPT = [
  `echo n > /data/new && ${X} -n user.note -v hello /data/new && ${X} -n user.bin -v 0x${BIN} /data/new`,
  // xattr-only changes: a file and a directory of the lower layers, and a file of the base image itself.
  `${X} -n user.only -v changed /data/existing`,
  `${X} -n user.dir -v d /data/dir`,
  `${X} -n user.img -v 0x${BIN} /etc/passwd`,
].join(" && ");

let b: Busybox;
let base: LayerRef[];
let tools: { path: string; cleanup(): void };
let mounts: ExecMount[];
let why: string | undefined;

/** Copies setfattr with the loader and libraries it needs into `dir` (run as `ld --library-path dir dir/setfattr`). */
function hostSetfattr(dir: string): void {
  const bin = execFileSync("sh", ["-c", "command -v setfattr"], { encoding: "utf8" }).trim();
  copyFileSync(bin, join(dir, "setfattr"));
  for (const l of execFileSync("ldd", [bin], { encoding: "utf8" }).split("\n")) {
    const lib = /=>\s*(\/\S+)/.exec(l)?.[1];
    if (lib) copyFileSync(lib, join(dir, basename(lib)));
    const loader = /^\s*(\/\S*ld[^\s]*\.so[^\s]*)\s/.exec(l)?.[1];
    if (loader) copyFileSync(loader, join(dir, "ld"));
  }
}

before(async () => {
  tools = tempDir("lading-xt-");
  const probe = join(tools.path, "probe");
  writeFileSync(probe, "");
  // The store lives on the same filesystem (LADING_TEST_TMP or TMPDIR): tmpfs before Linux 6.6 has no user.* xattrs.
  if (spawnSync("setfattr", ["-n", "user.probe", "-v", "1", probe]).status !== 0) {
    const fs = spawnSync("stat", ["-f", "-c", "%T", tools.path], { encoding: "utf8" }).stdout.trim();
    why = `setfattr -n user.probe failed on ${tools.path} (filesystem ${fs || "unknown"}): user.* xattrs unsupported there, or setfattr missing; point LADING_TEST_TMP at ext4, xfs or btrfs`;
  }
  else hostSetfattr(tools.path);
  mounts = [{ type: "bind", target: "/.xt", source: tools.path, readOnly: true }];
  b = await busybox();
  const prep = await sh(b, b.layers, "mkdir -p /data/dir && echo e > /data/existing");
  assert.equal(prep.exitCode, 0, prep.stderr);
  base = [...b.layers, prep.layer!];
});
after(() => {
  b?.cleanup();
  tools?.cleanup();
});

/** The layer's entries with their xattrs as hex, straight from the tar bytes. */
async function layerXattrs(layer: LayerRef): Promise<Record<string, Record<string, string>>> {
  const tar = await buffer(b.store.openBlob(layer.descriptor.digest).pipe(createGunzip()));
  const out: Record<string, Record<string, string>> = {};
  for await (const { header } of readTarEntries(Readable.from([tar]))) {
    out[header.name] = Object.fromEntries(Object.entries(header.xattrs ?? {}).map(([k, v]) => [k, v.toString("hex")]));
  }
  // Independent of lading's reader: the raw PAX record holds the bytes themselves.
  assert.ok(tar.includes(Buffer.concat([Buffer.from(" SCHILY.xattr.user.bin="), Buffer.from(BIN, "hex"), Buffer.from("\n")])), "raw binary record missing");
  return out;
}

/** getfattr's user.* attributes of a path: name → hex. */
function hostXattrs(path: string): Record<string, string> {
  const out = execFileSync("getfattr", ["--absolute-names", "-d", "-m", "^user\\.", "-e", "hex", path], { encoding: "latin1" });
  const attrs: Record<string, string> = {};
  for (const l of out.split("\n")) {
    const m = /^([^#=][^=]*)=0x(.*)$/.exec(l);
    if (m) attrs[m[1]] = m[2];
  }
  return attrs;
}

const hex = (s: string) => Buffer.from(s).toString("hex");
const WANT = {
  "data": {},
  "data/dir": { "user.dir": hex("d") },
  "data/existing": { "user.only": hex("changed") },
  "data/new": { "user.bin": BIN, "user.note": hex("hello") },
  "etc": {},
  "etc/passwd": { "user.img": BIN },
};

async function step(copy: boolean, debug: string[] = []) {
  if (copy) process.env.LADING_OVERLAY = "0";
  try {
    const r = await sh(b, base, SCRIPT, { mounts, debug: (m) => debug.push(m) });
    assert.equal(r.exitCode, 0, r.stderr);
    return r.layer!;
  } finally {
    delete process.env.LADING_OVERLAY;
  }
}

describe("extended attributes a step sets", () => {
  let viaOverlay: LayerRef;

  it("are in the layer made through overlayfs, xattr-only changes included, binary values exact", async (ctx) => {
    if (why) return ctx.skip(why);
    viaOverlay = await step(false);
    assert.deepEqual(await layerXattrs(viaOverlay), WANT);
    // An xattr-only change keeps the file's content in the layer (a tar entry replaces the whole file).
    const items = await layerItems(b.store, viaOverlay);
    assert.equal(items.find((i) => i.name === "data/existing")!.body, "e\n");
  });

  it("are in the same layer made through the copy fallback (LADING_OVERLAY=0)", async (ctx) => {
    if (why) return ctx.skip(why);
    const debug: string[] = [];
    const viaCopy = await step(true, debug);
    assert.ok(debug.some((m) => m.startsWith("rootfs: copying")), debug.join("\n"));
    assert.deepEqual(await layerXattrs(viaCopy), WANT);
    if (viaOverlay) assert.equal(viaCopy.diffId, viaOverlay.diffId);
  });

  it("are on the files again when the layer is unpacked", async (ctx) => {
    if (why) return ctx.skip(why);
    const layer = viaOverlay ?? (await step(false));
    const dirs = tempDir("lading-xt-unpack-");
    try {
      const root = join(dirs.path, "root");
      mkdirSync(root);
      await extractLayerBlob(b.store, layer, root);
      for (const [path, attrs] of Object.entries(WANT)) assert.deepEqual(hostXattrs(join(root, path)), attrs, path);
    } finally {
      rmAll(dirs);
    }
  });

  it("are carried to the next step's layer when it copies the file up for another change", async (ctx) => {
    if (why) return ctx.skip(why);
    const layer = viaOverlay ?? (await step(false));
    const r = await sh(b, [...base, layer], "chmod 600 /data/new", { mounts });
    assert.equal(r.exitCode, 0, r.stderr);
    const tar = await buffer(b.store.openBlob(r.layer!.descriptor.digest).pipe(createGunzip()));
    const got: Record<string, Record<string, string>> = {};
    for await (const { header } of readTarEntries(Readable.from([tar]))) got[header.name] = Object.fromEntries(Object.entries(header.xattrs ?? {}).map(([k, v]) => [k, v.toString("hex")]));
    assert.deepEqual(got, { data: {}, "data/new": { "user.bin": BIN, "user.note": hex("hello") } });
  });
});
