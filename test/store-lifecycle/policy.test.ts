import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bytesToFree, parseSize, policyFigures, resolveSize, validateGcConfig } from "../../src/store/policy.js";
import { resolveGcConfig } from "../../src/store/policy-config.js";
import { readEnvConfig } from "../../src/env-config.js";
import { LadingError } from "../../src/errors.js";
import { tempDir } from "../helpers/tmp.js";

const GB = 1e9;
const MB = 1e6;
const gcEnv = (env: NodeJS.ProcessEnv) => readEnvConfig(env).gc;
const isInvalid = (e: unknown) => e instanceof LadingError && e.code === "INVALID_ARGUMENT";
const t = tempDir("lading-policy-");
after(t.cleanup);

test("sizes: bytes, decimal and binary units, percentages of the disk", () => {
  assert.equal(parseSize(1234), 1234);
  assert.equal(parseSize("10GB"), 10 * GB);
  assert.equal(parseSize("10 gb"), 10 * GB);
  assert.equal(parseSize("512MiB"), 512 * 1024 * 1024);
  assert.equal(parseSize("1.5k"), 1500);
  assert.equal(parseSize("77"), 77);
  assert.equal(resolveSize("20%", 1000 * GB, "x"), 200 * GB);
  assert.equal(resolveSize("12.5%", 800, "x"), 100);
  for (const bad of ["ten", "10XB", "-1", "", "%"]) assert.throws(() => parseSize(bad), isInvalid, bad);
  assert.throws(() => resolveSize("150%", 100, "x"), isInvalid);
  assert.throws(() => parseSize(-5), isInvalid);
});

test("default figures on a typical 500 GB disk: reserved 10 GB (capped), max used 75%, min free 20%", () => {
  const f = policyFigures({}, 500 * GB);
  assert.deepEqual(f, { reservedSpace: 10 * GB, maxUsedSpace: 375 * GB, minFreeSpace: 100 * GB });
});

test("a tiny disk (4 MB): every figure is a share of it, none of them a fixed size", () => {
  const f = policyFigures({}, 4 * MB);
  assert.deepEqual(f, { reservedSpace: 400_000, maxUsedSpace: 3_000_000, minFreeSpace: 800_000 });
  // store 3.5 MB, 0.2 MB free: must free enough for 0.8 MB free (0.6 MB), which also brings it under max used
  assert.equal(bytesToFree(f, 3_500_000, { total: 4 * MB, free: 200_000 }), 600_000);
});

test("a huge disk (100 TB): the default reserve stays at 10 GB; an explicit reserve is taken as given", () => {
  assert.equal(policyFigures({}, 100e12).reservedSpace, 10 * GB);
  assert.equal(policyFigures({ reservedSpace: "1%" }, 100e12).reservedSpace, 1e12);
  assert.equal(policyFigures({ reservedSpace: "50GB" }, 100e12).reservedSpace, 50 * GB);
  const f = policyFigures({}, 100e12);
  // plenty free and far under max used: nothing to do
  assert.equal(bytesToFree(f, 2e12, { total: 100e12, free: 90e12 }), 0);
});

test("a store already over max used space is cut down to it", () => {
  const f = policyFigures({}, 100 * GB); // reserved 10, max 75, min free 20
  assert.equal(bytesToFree(f, 80 * GB, { total: 100 * GB, free: 20 * GB }), 5 * GB);
});

test("a disk short of free space frees the difference, but never cuts the store below the reserve", () => {
  const f = policyFigures({}, 100 * GB);
  // other files fill the disk: 1 GB free, the store holds 30 GB → free 19 GB
  assert.equal(bytesToFree(f, 30 * GB, { total: 100 * GB, free: 1 * GB }), 19 * GB);
  // the store only holds 12 GB: at most 2 GB can go (reserve 10 GB)
  assert.equal(bytesToFree(f, 12 * GB, { total: 100 * GB, free: 1 * GB }), 2 * GB);
  // the store is within its reserve: nothing goes, however full the disk
  assert.equal(bytesToFree(f, 9 * GB, { total: 100 * GB, free: 0 }), 0);
});

test("both limits crossed: the larger need wins", () => {
  const f = policyFigures({ maxUsedSpace: "50%" }, 100 * GB);
  assert.equal(bytesToFree(f, 60 * GB, { total: 100 * GB, free: 5 * GB }), 15 * GB);
  assert.equal(bytesToFree(f, 70 * GB, { total: 100 * GB, free: 15 * GB }), 20 * GB);
});

test("settings are checked at once: unknown keys and bad values are refused", () => {
  assert.throws(() => validateGcConfig({ maxUsed: "10GB" }, "here"), isInvalid);
  assert.throws(() => validateGcConfig({ maxUsedSpace: "lots" }, "here"), isInvalid);
  assert.throws(() => validateGcConfig(true, "here"), isInvalid);
  assert.equal(validateGcConfig(false, "here"), false);
  assert.deepEqual(validateGcConfig({ minFreeSpace: 5 }, "here"), { minFreeSpace: 5 });
});

test("configuration: lading.json, then the environment, then connect({ gc }); false turns it off", async () => {
  const root = join(t.path, "cfg");
  mkdirSync(root, { recursive: true });
  assert.deepEqual(await resolveGcConfig(root, undefined, gcEnv({})), {});
  writeFileSync(join(root, "lading.json"), JSON.stringify({ gc: { reservedSpace: "1GB", maxUsedSpace: "50%" } }));
  assert.deepEqual(await resolveGcConfig(root, undefined, gcEnv({})), { reservedSpace: "1GB", maxUsedSpace: "50%" });
  assert.deepEqual(await resolveGcConfig(root, undefined, gcEnv({ LADING_GC_MAX_USED: "60%", LADING_GC_MIN_FREE: "5GB" })), { reservedSpace: "1GB", maxUsedSpace: "60%", minFreeSpace: "5GB" });
  assert.deepEqual(await resolveGcConfig(root, { maxUsedSpace: 100 }, gcEnv({ LADING_GC_MAX_USED: "60%" })), { reservedSpace: "1GB", maxUsedSpace: 100 });
  assert.equal(await resolveGcConfig(root, undefined, gcEnv({ LADING_GC: "off" })), false);
  assert.equal(await resolveGcConfig(root, false, gcEnv({})), false);
  writeFileSync(join(root, "lading.json"), JSON.stringify({ gc: false }));
  assert.equal(await resolveGcConfig(root, undefined, gcEnv({})), false);
  assert.deepEqual(await resolveGcConfig(root, { minFreeSpace: "1%" }, gcEnv({})), { minFreeSpace: "1%" });
  writeFileSync(join(root, "lading.json"), JSON.stringify({ gc: { reserved: 1 } }));
  await assert.rejects(resolveGcConfig(root, undefined, gcEnv({})), isInvalid);
  await assert.rejects(resolveGcConfig(root, undefined, gcEnv({ LADING_GC_RESERVED: "much" })), isInvalid);
});
