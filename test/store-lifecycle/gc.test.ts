import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { hexOf } from "../../src/oci/digest.js";
import { collectGarbage } from "../../src/store/gc.js";
import { diskUsage, maybeCollect, pruneStore } from "../../src/store/maintenance.js";
import { acquireLease, liveLeases } from "../../src/store/leases.js";
import { scanStore, usageByKind } from "../../src/store/usage.js";
import { fsck } from "../../src/store/fsck.js";
import { tempDir } from "../helpers/tmp.js";
import { age, DAY, deadPid, makeFixture } from "./fixture.js";

const t = tempDir("lading-gc-");
after(t.cleanup);
let n = 0;
const fresh = () => makeFixture(join(t.path, `s${n++}`));

test("df: sizes by kind add up, named images are not reclaimable, the policy's figures are shown", async () => {
  const f = await fresh();
  // State no collection frees still takes disk: the host-file digest memo, the runtimes' state.
  mkdirSync(join(f.store.root, "lading", "hashcache"), { recursive: true });
  writeFileSync(join(f.store.root, "lading", "hashcache", "memo"), Buffer.alloc(7000));
  mkdirSync(join(f.store.root, "lading", "runc", "tag"), { recursive: true });
  writeFileSync(join(f.store.root, "lading", "runc", "tag", "state.json"), Buffer.alloc(900));
  const r = await diskUsage(f.store, {});
  assert.ok(r.usage.images > 100_000, "the busybox image is counted as images");
  assert.ok(r.usage.other >= 7900, `other state: ${r.usage.other}`);
  assert.equal(r.usage.layers, 3000 + 2000 + 1000 + (await f.store.blobSize(f.unnamedConfig))! + (await f.store.blobSize(f.unnamedManifest))!);
  const markers = 0; // the .complete markers are empty
  assert.equal(r.usage.snapshots, 5000 + 5000 + 4000 + statSync(f.snapshot + ".json").size + markers);
  assert.equal(r.usage.cacheVolumes, 6000);
  assert.ok(r.usage.opCache > 0);
  assert.equal(r.usage.total, r.usage.images + r.usage.layers + r.usage.snapshots + r.usage.opCache + r.usage.cacheVolumes + r.usage.other);
  assert.equal(r.reclaimable, r.usage.total - r.usage.images - r.usage.other);
  assert.ok(r.policy && r.policy.maxUsedSpace === Math.floor(r.disk.total * 0.75));
  assert.equal((await diskUsage(f.store, false)).policy, undefined);
});

test("prune removes everything collectable in policy order; named images stay and the store stays consistent", async () => {
  const f = await fresh();
  const r = await pruneStore(f.store, {});
  const ids = r.removed.map((i) => i.id);
  const pos = (id: string) => ids.indexOf(id);
  // cache volumes and snapshots idle for 48 h first
  assert.deepEqual(new Set(ids.slice(0, 2)), new Set([basename(f.volume), basename(f.rootfsOld)]));
  // a blob goes only after the record that held it
  assert.ok(pos(hexOf(f.recordB)) >= 0 && pos(f.blobB) > pos(hexOf(f.recordB)));
  // an unnamed manifest's config and layer go only after the manifest
  assert.ok(pos(f.unnamedLayer) > pos(f.unnamedManifest) && pos(f.unnamedConfig) > pos(f.unnamedManifest));
  for (const d of Object.values(f.named)) assert.ok(await f.store.hasBlob(d), `named image blob ${d} kept`);
  assert.deepEqual(readdirSync(join(f.store.root, "lading", "volumes")), []);
  assert.deepEqual(readdirSync(join(f.store.root, "lading", "rootfs")), []);
  assert.deepEqual(readdirSync(join(f.store.root, "lading", "snapshots", "root")), []);
  assert.deepEqual(readdirSync(join(f.store.root, "lading", "opcache")), []);
  assert.equal(await f.store.getPin(f.pinRef), undefined, "the pin of a removed blob goes with it");
  assert.equal(r.freed, r.removed.reduce((a, i) => a + i.size, 0));
  const after = usageByKind(await scanStore(f.store));
  assert.equal(after.total, after.images);
  assert.ok((await fsck(f.store)).ok);
});

test("collection with a byte target frees least recently used first and stops once enough is freed", async () => {
  const f = await fresh();
  // volume (6000, idle 3 days) alone satisfies 5000 bytes
  const r1 = await collectGarbage(f.store, { bytesToFree: 5000 });
  assert.equal(r1.removed.length, 1);
  assert.ok([basename(f.volume), basename(f.rootfsOld)].includes(r1.removed[0]!.id));
  assert.ok(r1.freed >= 5000);
  // next: the other 48-hour item, then the 70-day-old blob B (only once its record is gone), then LRU
  const r2 = await collectGarbage(f.store, { bytesToFree: 5000 + 3000 + 1 });
  const ids = r2.removed.map((i) => i.id);
  assert.ok(ids.includes(f.blobB) && ids.indexOf(hexOf(f.recordB)) < ids.indexOf(f.blobB));
  assert.ok(existsSync(f.rootfsNew), "recently used snapshot kept");
  assert.ok(await f.store.hasBlob(f.loose), "recently used blob kept");
  assert.ok((await fsck(f.store)).ok);
});

test("a blob held by a kept op-cache record stays, even when it is the oldest thing in the store", async () => {
  const f = await fresh();
  age(join(f.store.root, "lading", "opcache", hexOf(f.recordB) + ".json"), 1000); // record just used
  const r = await pruneStore(f.store, { until: "1h" });
  assert.ok(!r.removed.some((i) => i.id === f.blobB || i.id === hexOf(f.recordB)));
  assert.ok(await f.store.hasBlob(f.blobB));
  assert.ok(r.removed.some((i) => i.id === f.unnamedManifest), "older unnamed results went");
});

test("--filter until: only what was unused for that long goes", async () => {
  const f = await fresh();
  const r = await pruneStore(f.store, { until: "48h" });
  assert.deepEqual(r.removed.map((i) => i.id).sort(), [basename(f.volume), basename(f.rootfsOld)].sort());
  assert.ok(await f.store.hasBlob(f.blobB), "the 70-day-old blob stays: its record was used 10 h ago");
  assert.ok(existsSync(f.snapshot) && existsSync(f.rootfsNew) && (await f.store.hasBlob(f.loose)));
  assert.ok(!existsSync(f.volume) && !existsSync(f.rootfsOld));
});

test("--keep-storage: collects least recently used down to the size kept", async () => {
  const f = await fresh();
  const total = usageByKind(await scanStore(f.store)).total;
  const r = await pruneStore(f.store, { keepStorage: total - 7000 });
  assert.ok(r.freed >= 7000);
  assert.ok(usageByKind(await scanStore(f.store)).total <= total - 7000);
  assert.ok(existsSync(f.rootfsNew));
  const none = await pruneStore(f.store, { keepStorage: "1TB" });
  assert.equal(none.removed.length, 0);
});

test("prune --all drops named images too, leaving an empty, valid store", async () => {
  const f = await fresh();
  const r = await pruneStore(f.store, { all: true });
  assert.deepEqual(r.untagged, ["base"]);
  assert.deepEqual(readdirSync(join(f.store.root, "blobs", "sha256")), []);
  assert.deepEqual((await f.store.readIndex()).manifests, []);
  assert.ok((await fsck(f.store)).ok);
});

test("leases: nothing created or used since the oldest live lease started is collected", async () => {
  const f = await fresh();
  // this process's lease: everything aged above predates it, so make two things "used during the lease"
  const lease = await acquireLease(f.store);
  try {
    assert.equal((await liveLeases(f.store)).length, 1);
    age(f.volume, -5000); // used just now (mtime after the lease started)
    age(f.store.blobPath(f.loose), -5000);
    const r = await pruneStore(f.store, {});
    assert.ok(existsSync(f.volume) && (await f.store.hasBlob(f.loose)));
    assert.ok(r.removed.length > 5, "older things went");
  } finally {
    await lease.release();
  }
  assert.equal((await liveLeases(f.store)).length, 0);
});

test("a lease of a dead process is stale: removed, and protects nothing", async () => {
  const f = await fresh();
  const dir = join(f.store.root, "lading", "leases");
  mkdirSync(dir, { recursive: true });
  const pid = deadPid();
  writeFileSync(join(dir, `${pid}-abc.json`), JSON.stringify({ pid, start: Date.now() - 30 * DAY }));
  assert.equal((await liveLeases(f.store)).length, 0);
  assert.deepEqual(readdirSync(dir), []);
  const r = await pruneStore(f.store, {});
  assert.ok(r.removed.length > 5);
});

test("temp files of live processes are never swept; those of dead ones are", async () => {
  const f = await fresh();
  const tmp = join(f.store.root, "lading", "tmp");
  const oc = join(f.store.root, "lading", "opcache");
  const dead = deadPid();
  const live = [join(tmp, `blob.${process.pid}.aaaa`), join(oc, `.x.json.${process.pid}.abcdef.tmp`)];
  const gone = [join(tmp, `blob.${dead}.bbbb`), join(oc, `.y.json.${dead}.abcdef.tmp`)];
  for (const p of [...live, ...gone]) writeFileSync(p, "partial");
  for (const p of [...live, ...gone]) age(p, 90 * DAY);
  await pruneStore(f.store, { all: true });
  for (const p of live) assert.ok(existsSync(p), `${p} kept`);
  for (const p of gone) assert.ok(!existsSync(p), `${p} swept`);
});

test("automatic collection: runs when the policy says so, at most once a minute, never when off", async () => {
  const f = await fresh();
  const total = usageByKind(await scanStore(f.store)).total;
  // The store's own state (locks, temp folder) counts as used space but is never collected.
  const { images, other } = usageByKind(await scanStore(f.store));
  assert.equal(await maybeCollect(f.store, false), undefined);
  // explicit bytes: reserve 0, allow the named image and the state plus 5000 bytes, no free-space demand
  // (+ 100: the run's own time stamp joins the state)
  const policy = { reservedSpace: 0, maxUsedSpace: images + other + 5100, minFreeSpace: 0 };
  const r = await maybeCollect(f.store, policy);
  assert.ok(r && r.freed >= total - images - other - 5100);
  assert.ok(usageByKind(await scanStore(f.store)).total <= images + other + 5100);
  for (const d of Object.values(f.named)) assert.ok(await f.store.hasBlob(d));
  // within the minute: nothing runs, even with a stricter policy
  assert.equal(await maybeCollect(f.store, { reservedSpace: 0, maxUsedSpace: 1, minFreeSpace: 0 }), undefined);
  // a minute later it does
  const later = await maybeCollect(f.store, { reservedSpace: 0, maxUsedSpace: 1, minFreeSpace: 0 }, { now: Date.now() + 61_000 });
  assert.ok(later && later.removed.length > 0);
  // the reserve is never cut into: with a reserve above the store's size nothing goes
  const g = await fresh();
  assert.equal(await maybeCollect(g.store, { reservedSpace: "1TB", maxUsedSpace: 1, minFreeSpace: "100%" }), undefined);
});

test("planning scales to a store of 60 000 items, and a blob is always planned after everything pointing at it", async () => {
  const { planCollection } = await import("../../src/store/gc.js");
  const { sha256 } = await import("../../src/oci/digest.js");
  const now = Date.now();
  const items = [];
  const blobs = new Map();
  for (let k = 0; k < 30_000; k++) {
    const digest = sha256(`blob ${k}`);
    // blobs older than the records that hold them, so LRU alone would take the blob first
    const blob = { kind: "layer" as const, id: digest, paths: [], size: 10, lastUsed: now - 2 * DAY - k, refs: [], rooted: false };
    blobs.set(digest, blob);
    items.push(blob, { kind: "opcache" as const, id: `r${k}`, paths: [], size: 1, lastUsed: now - DAY + k, refs: [digest], rooted: false });
  }
  const plan = planCollection({ items, blobs, pins: new Map(), names: [], otherBytes: 0 }, { cutoff: now, now });
  assert.equal(plan.length, 60_000);
  const pos = new Map(plan.map((i, n) => [i.id, n]));
  for (let k = 0; k < 30_000; k += 997) assert.ok(pos.get(`r${k}`)! < pos.get(sha256(`blob ${k}`))!);
  // with a byte target the plan stops as soon as it is met
  assert.equal(planCollection({ items, blobs, pins: new Map(), names: [], otherBytes: 0 }, { cutoff: now, now, bytesToFree: 11 }).length, 2);
});

test("least recently used first, then least used: within the same hour, the item used fewer times goes first", async () => {
  const { planCollection } = await import("../../src/store/gc.js");
  const now = Date.now();
  const hourStart = Math.floor((now - 5 * DAY) / 3_600_000) * 3_600_000;
  const item = (id: string, lastUsed: number, uses: number) => ({ kind: "opcache" as const, id, paths: [], size: 1, lastUsed, refs: [], rooted: false, uses });
  const items = [item("often-older", hourStart + 1000, 50), item("rarely-newer", hourStart + 2000, 1), item("oldest-hour", hourStart - 3_600_000, 99)];
  const plan = planCollection({ items, blobs: new Map(), pins: new Map(), names: [], otherBytes: 0 }, { cutoff: now, now });
  assert.deepEqual(plan.map((i) => i.id), ["oldest-hour", "rarely-newer", "often-older"]);
});

test("uses are counted from store.touch and kept for what survives a collection", async () => {
  const { Store } = await import("../../src/store/store.js");
  const { readUseCounts } = await import("../../src/store/use-counts.js");
  const { sha256 } = await import("../../src/oci/digest.js");
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(join(tmpdir(), "lading-uses-"));
  try {
    const s = await Store.open(dir);
    const b = await s.putBlob("used blob");
    const key = sha256("op");
    await s.touch({ blob: b.digest }, { cacheKey: key });
    await s.touch({ blob: b.digest });
    const counts = await readUseCounts(dir);
    assert.equal(counts.get(b.digest), 2);
    assert.equal(counts.get(key.slice(7)), 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
