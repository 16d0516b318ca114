// Mountpoint stubs (src/exec/stubs.ts): what is missing is made where the
// runtime would resolve each mount destination, links on the way followed
// inside the root; a file on the way or a link loop stops the stub there.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { lstatSync, mkdirSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createStubs, removeStubs } from "../../src/exec/stubs.js";
import { tempDir } from "../helpers/tmp.js";

const t = tempDir("lading-stubs-");
after(t.cleanup);

test("stubs follow links inside the root, stop at a file or a loop, and go again once empty", async () => {
  const root = join(t.path, "rootfs");
  mkdirSync(join(root, "real"), { recursive: true });
  symlinkSync("/real", join(root, "etc"));
  symlinkSync("../real/../var2", join(root, "var"));
  writeFileSync(join(root, "plain"), "x");
  symlinkSync("loop2", join(root, "loop1"));
  symlinkSync("loop1", join(root, "loop2"));
  symlinkSync("/nowhere", join(root, "oldlink"));
  const created = await createStubs(root, [
    { path: "/etc/hosts", kind: "file" },
    { path: "/var/run/x", kind: "dir" },
    { path: "/plain/sub", kind: "dir" },
    { path: "/loop1/y", kind: "dir" },
    { path: "/oldlink", kind: "symlink", linkname: "/elsewhere" },
    { path: "/dev/shm/../pts", kind: "dir" },
    { path: "/sys/link", kind: "symlink", linkname: "../proc" },
  ]);
  assert.deepEqual(created, ["real/hosts", "var2", "var2/run", "var2/run/x", "dev", "dev/shm", "dev/pts", "sys", "sys/link"]);
  assert.equal(lstatSync(join(root, "real/hosts")).size, 0);
  assert.equal(readlinkSync(join(root, "sys/link")), "../proc");
  assert.equal(readlinkSync(join(root, "oldlink")), "/nowhere", "an existing link as the last component is left alone");
  await removeStubs(root, created, [{ path: "/sys/link", kind: "symlink", linkname: "../proc" }]);
  for (const p of created) assert.equal(lstatSync(join(root, p), { throwIfNoEntry: false }), undefined, p);
});
