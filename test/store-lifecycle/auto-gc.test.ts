/**
 * Automatic collection end to end, through the API: builds fill a store,
 * time passes (mtimes moved back), and a later client's close() collects
 * by the disk policy — on a 64 MB tmpfs made here with the default
 * percentages (as root), and anywhere with explicit byte values.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";

import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "../../src/api/client.js";
import { Store } from "../../src/store/store.js";
import { fsck } from "../../src/store/fsck.js";
import { diskFacts } from "../../src/store/disk.js";
import { policyFigures } from "../../src/store/policy.js";
import { scanStore, usageByKind } from "../../src/store/usage.js";
import { makeBusyboxLayout } from "../helpers/images.js";
import { tempDir } from "../helpers/tmp.js";
import { ageTree } from "./fixture.js";
import { tmpfsMounts } from "../helpers/tmpfs.js";

const t = tempDir("lading-autogc-");
const tmpfs = tmpfsMounts();
after(() => {
  tmpfs.unmountAll();
  t.cleanup();
});

/** Builds `count` images, each with its own incompressible `bytes`-sized file, none of them named. */
async function fill(store: string, base: string, count: number, bytes: number): Promise<void> {
  const client = await connect({ store, gc: false });
  try {
    for (let i = 0; i < count; i++) {
      const ctx = join(t.path, `ctx-${randomBytes(4).toString("hex")}`);
      mkdirSync(ctx);
      writeFileSync(join(ctx, "blob.bin"), randomBytes(bytes));
      await client.container().from(`oci:${base}:latest`).withDirectory("/data", client.host().directory(ctx)).digest();
    }
  } finally {
    await client.close();
  }
}

test("default policy on a 64 MB tmpfs: a disk short of free space is brought back to 20% free by the next client's close", async (ctx) => {
  if (process.getuid?.() !== 0) {
    ctx.skip("needs root to mount a tmpfs");
    console.log("# skipped: not root, cannot mount a tmpfs for the end-to-end policy test");
    return;
  }
  const mnt = tmpfs.mount(join(t.path, "disk"), "64m");
  const base = join(t.path, "base");
  await makeBusyboxLayout(base);
  const store = join(mnt, "store");
  await fill(store, base, 4, 3_000_000);
  ageTree(store, 3 * 24 * 3_600_000);
  // Other files fill the disk until less than the policy's 20% is free.
  const disk0 = await diskFacts(mnt);
  const fig = policyFigures({}, disk0.total);
  writeFileSync(join(mnt, "filler"), Buffer.alloc(disk0.free - 6_000_000));
  const before = await diskFacts(mnt);
  assert.ok(before.free < fig.minFreeSpace);
  const used0 = usageByKind(await scanStore(await Store.open(store))).total;

  const client = await connect({ store });
  const digest = await client.container().from(`oci:${base}:latest`).withNewFile("/fresh", "made now").digest();
  await client.close();

  const afterDisk = await diskFacts(mnt);
  const used1 = usageByKind(await scanStore(await Store.open(store))).total;
  assert.ok(used1 < used0, "something was collected");
  assert.ok(afterDisk.free >= fig.minFreeSpace || used1 <= fig.reservedSpace, `free ${afterDisk.free} < ${fig.minFreeSpace} and the store (${used1}) is above its reserve ${fig.reservedSpace}`);
  // What the last client made (during its lease) is still there.
  assert.ok(await (await Store.open(store)).hasBlob(digest as `sha256:${string}`));
  assert.ok((await fsck(await Store.open(store))).ok);
});

test("explicit byte policy from connect({ gc }): close() collects the store down to maxUsedSpace, oldest first", async () => {
  const base = join(t.path, "base2");
  await makeBusyboxLayout(base);
  const store = join(t.path, "bytes-store");
  await fill(store, base, 3, 500_000);
  ageTree(store, 3 * 24 * 3_600_000);
  const used0 = usageByKind(await scanStore(await Store.open(store))).total;
  const max = used0 - 800_000;
  const client = await connect({ store, gc: { reservedSpace: 0, maxUsedSpace: max, minFreeSpace: 0 } });
  // A client holds a lease on its store while open, named by its pid.
  const leases = readdirSync(join(store, "lading", "leases")).filter((n) => n.endsWith(".json"));
  assert.deepEqual(leases.map((n) => n.split("-")[0]), [String(process.pid)]);
  const digest = await client.container().from(`oci:${base}:latest`).withNewFile("/fresh", "made now").digest();
  await client.close();
  assert.deepEqual(readdirSync(join(store, "lading", "leases")), [], "close() ends the lease");
  const s = await Store.open(store);
  const used1 = usageByKind(await scanStore(s)).total;
  assert.ok(used1 <= max + 10_000, `store ${used1} bytes, policy max ${max} (+ the last build's few small blobs)`);
  assert.ok(await s.hasBlob(digest as `sha256:${string}`));
  assert.ok((await fsck(s)).ok);
  // gc: false never collects
  const before = usageByKind(await scanStore(s)).total;
  const off = await connect({ store, gc: false });
  await off.close();
  assert.equal(usageByKind(await scanStore(s)).total, before);
});
