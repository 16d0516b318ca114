// Rootless, an exec that runs as another user of the image leaves files owned
// by subordinate ids (here a cache volume filled by uid 1000, with a folder it
// made read-only): the user cannot move or remove them from outside lading's
// namespace, yet `prune` must free them, and the store must stay removable.
// Runs as root and, in CI, again as an unprivileged user.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { join } from "node:path";
import { connect } from "../../src/index.js";
import { makeBusyboxLayout, type TestImage } from "../helpers/images.js";
import { tempDir } from "../helpers/tmp.js";

const t = tempDir("lading-reclaim-");
let busybox: TestImage;

before(async () => {
  busybox = await makeBusyboxLayout(join(t.path, "busybox"));
});
after(() => t.cleanup());

test("prune --all frees a cache volume another user of the image filled, and leaves a store the user can delete", async () => {
  const store = join(t.path, "store");
  const c1 = await connect({ store });
  try {
    const out = await c1
      .container()
      .from(busybox.ref)
      .withUser("1000:1000")
      .withMountedCache("/cache", c1.cacheVolume("owned-by-1000"), { owner: "1000:1000" })
      .withExec(["sh", "-c", "mkdir -p /cache/d/e && echo x > /cache/d/e/f && chmod 555 /cache/d && stat -c '%u %a' /cache/d"])
      .stdout();
    assert.equal(out, "1000 555\n");
  } finally {
    await c1.close();
  }
  // What a session used stays collectable only once it is older than the collector's grace period.
  await sleep(2500);
  const c2 = await connect({ store });
  try {
    const r = await c2.prune({ all: true });
    assert.ok(r.removed.some((i) => i.kind === "volume"), `no volume removed: ${JSON.stringify(r.removed)}`);
  } finally {
    await c2.close();
  }
  assert.deepEqual(readdirSync(join(store, "lading", "volumes")), []);
  rmSync(store, { recursive: true });
  assert.equal(existsSync(store), false);
});
