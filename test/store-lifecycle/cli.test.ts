import { test, after } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { lading } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { makeFixture } from "./fixture.js";

const t = tempDir("lading-store-cli-");
after(t.cleanup);
let n = 0;
const fresh = () => makeFixture(join(t.path, `s${n++}`));
const env = { LADING_GC: "off" };

test("lading df: sizes by kind, reclaimable bytes and the policy's three figures", async () => {
  const f = await fresh();
  const r = await lading(["df", "--store", f.store.root], { env });
  assert.equal(r.code, 0, r.stderr);
  for (const k of ["images", "layers", "snapshots", "op cache", "cache volumes", "reclaimable"]) assert.match(r.stdout, new RegExp(`^${k}\\s+\\d`, "m"));
  assert.match(r.stdout, /policy: automatic collection is off/);
  const j = await lading(["df", "--json", "--store", f.store.root], { env: { LADING_GC_MAX_USED: "50%" } });
  assert.equal(j.code, 0, j.stderr);
  const parsed = JSON.parse(j.stdout) as { usage: { cacheVolumes: number }; policy: { maxUsedSpace: number }; disk: { total: number } };
  assert.equal(parsed.usage.cacheVolumes, 6000);
  assert.equal(parsed.policy.maxUsedSpace, Math.floor(parsed.disk.total / 2));
});

test("lading prune --filter until=48h, then --keep-storage, then --all: says what went and how much", async () => {
  const f = await fresh();
  const r = await lading(["prune", "--filter", "until=48h", "--store", f.store.root], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`removed volume\\s+${basename(f.volume)}`));
  assert.match(r.stdout, /Total reclaimed space: [\d.]+kB \(2 items\)/);
  assert.ok(existsSync(f.rootfsNew));
  const bad = await lading(["prune", "--filter", "label=x", "--store", f.store.root], { env });
  assert.equal(bad.code, 2);
  const k = await lading(["prune", "--keep-storage", "1TB", "--store", f.store.root], { env });
  assert.match(k.stdout, /Total reclaimed space: 0B \(0 items\)/);
  const all = await lading(["prune", "--all", "--store", f.store.root], { env });
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /^untagged base$/m);
  const images = await lading(["images", "--store", f.store.root], { env });
  assert.doesNotMatch(images.stdout, /base/);
});

test("lading fsck: exit 0 when clean, 1 with problems listed, --repair fixes and exits 0", async () => {
  const f = await fresh();
  const ok = await lading(["fsck", "--store", f.store.root], { env });
  assert.equal(ok.code, 0, ok.stderr + ok.stdout);
  assert.match(ok.stdout, /0 problem\(s\)/);
  const p = f.store.blobPath(f.blobB);
  chmodSync(p, 0o644);
  writeFileSync(p, "flipped");
  const bad = await lading(["fsck", "--store", f.store.root], { env });
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, new RegExp(`corrupt-blob: .*${f.blobB.slice(7)}`));
  assert.match(bad.stdout, /record-missing-blob/);
  assert.match(bad.stderr, /lading fsck --repair/);
  const fix = await lading(["fsck", "--repair", "--store", f.store.root], { env });
  assert.equal(fix.code, 0, fix.stderr);
  assert.match(fix.stdout, /removed/);
  const again = await lading(["fsck", "--store", f.store.root], { env });
  assert.equal(again.code, 0, again.stdout);
});
