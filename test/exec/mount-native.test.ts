// The exec helper's mount(2)/umount2(2) addon (native/lading_mount.c): built
// by npm install, an overlay mounted by it shows the lower and upper layers
// and writes to the upper one, and a refused mount says its errno by name.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { errnoName, nativeMount } from "../../src/exec/mount-native.js";
import { tempDir } from "../helpers/tmp.js";

const t = tempDir("lading-mount-native-");
after(t.cleanup);
const asRoot = process.getuid?.() === 0;

test("npm install built the mount addon, and it mounts and unmounts an overlay", { skip: !asRoot && "mounting needs root (the helper mounts inside its own namespaces)" }, () => {
  const native = nativeMount();
  assert.ok(native, "build/Release/lading_mount.node is missing or did not load: run npm ci with a C compiler (scripts/setup.sh installs one)");
  const [lower, upper, work, merged] = ["lower", "upper", "work", "merged"].map((d) => join(t.path, d));
  for (const d of [lower, upper, work, merged]) mkdirSync(d);
  writeFileSync(join(lower, "from-lower"), "L");
  assert.equal(native.mount("overlay", merged, "overlay", `lowerdir=${lower},upperdir=${upper},workdir=${work}`), 0);
  try {
    assert.equal(readFileSync(join(merged, "from-lower"), "utf8"), "L");
    writeFileSync(join(merged, "new"), "N");
    assert.deepEqual(readdirSync(upper), ["new"]);
    assert.deepEqual(readdirSync(lower), ["from-lower"]);
  } finally {
    assert.equal(native.umount(merged, false), 0);
  }
  assert.deepEqual(readdirSync(merged), [], "unmounted: the mount point is empty again");
  // Refused: a lower dir that does not exist; the errno comes back, named as the tools name it.
  const errno = native.mount("overlay", merged, "overlay", `lowerdir=${join(t.path, "missing")},upperdir=${upper},workdir=${work}`);
  assert.equal(errnoName(errno), "ENOENT");
  assert.equal(native.umount(merged, false) === 0, false, "nothing is mounted there any more");
  assert.throws(() => native.mount("overlay", merged, "overlay", undefined as unknown as string), TypeError);
});
