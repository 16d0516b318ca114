import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { makeBusyboxLayout } from "../helpers/images.js";
import { tempDir } from "../helpers/tmp.js";

const t = tempDir();
after(t.cleanup);

test("the busybox test image is an OCI layout umoci unpacks, with a working sh", async () => {
  const img = await makeBusyboxLayout(join(t.path, "layout"));
  const raw = JSON.parse(execFileSync("skopeo", ["inspect", "--raw", `oci:${img.dir}:${img.tag}`], { encoding: "utf8" }));
  assert.equal(raw.layers.length, 1);
  const bundle = join(t.path, "bundle");
  execFileSync("umoci", ["unpack", ...(process.getuid?.() === 0 ? [] : ["--rootless"]), "--image", `${img.dir}:${img.tag}`, bundle]);
  assert.ok(existsSync(join(bundle, "rootfs", "bin", "sh")));
  assert.equal(execFileSync(join(bundle, "rootfs", "bin", "busybox"), ["echo", "hi"], { encoding: "utf8" }), "hi\n");
});
