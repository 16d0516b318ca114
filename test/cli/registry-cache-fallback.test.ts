// A registry build cache that cannot be used (issue 18) — missing, unreachable, not lading's,
// malformed, another format or platform — costs one notice; the build is what it would be without it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lading, type CliResult } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { freePort, startRegistry, type RegistryHandle } from "../helpers/registry.js";
import { getBlob, getManifest, putBlob, putManifest } from "../helpers/registry-http.js";

const t = tempDir("lading-regcache-fallback-");
let reg: RegistryHandle;
let ctx: string;
let plainDigest: string;
let n = 0;
const store = () => join(t.path, `store-${++n}`);

before(async () => {
  reg = await startRegistry();
  ctx = join(t.path, "ctx");
  mkdirSync(ctx);
  writeFileSync(join(ctx, "Containerfile"), "FROM scratch\nCOPY a.txt /files/\nCOPY b.txt /files/\n");
  writeFileSync(join(ctx, "a.txt"), "a\n");
  writeFileSync(join(ctx, "b.txt"), "b\n");
  plainDigest = (await build([])).stdout.trim();
});
after(async () => {
  await reg?.stop();
  t.cleanup();
});

async function build(args: string[]): Promise<CliResult> {
  const r = await lading(["build", "--progress", "json", "--lock", "off", "--store", store(), ...args, ctx]);
  assert.equal(r.code, 0, r.stderr);
  return r;
}

function events(r: CliResult): Array<Record<string, any>> {
  return r.stderr.trim().split("\n").map((l) => JSON.parse(l));
}

/** Builds with `--cache-from ref`: one notice matching `why`, every COPY run, the digest of a build without a cache. */
async function fallsBack(ref: string, why: RegExp): Promise<void> {
  const r = await build(["--cache-from", `type=registry,ref=${ref}`]);
  const notices = events(r).filter((e) => e.type === "warning").map((e) => e.message as string);
  assert.equal(notices.length, 1, notices.join("\n"));
  assert.match(notices[0]!, why);
  const copies = events(r).filter((e) => e.type === "step" && e.name.startsWith("COPY") && e.status !== "running");
  assert.deepEqual(copies.map((e) => e.status), ["done", "done"]);
  assert.equal(r.stdout.trim(), plainDigest);
}

test("a cache reference the registry does not have: one notice, the build goes on", async () => {
  await fallsBack(`${reg.host}/app:nocache`, /build cache .*app:nocache is not used: it is not in the registry/);
});

test("a registry that is down: one notice, the build goes on", async () => {
  const port = await freePort();
  await fallsBack(`127.0.0.1:${port}/app:cache`, /build cache 127\.0\.0\.1:\d+\/app:cache is not used: .*the build goes on without it/);
});

test("a tag holding an image, not a cache: one notice", async () => {
  const pushed = await build(["-t", `${reg.host}/app:image`, "--push"]);
  assert.equal(pushed.stdout.trim(), plainDigest);
  await fallsBack(`${reg.host}/app:image`, /is not a lading build cache/);
});

test("a cache whose record list is damaged, or of another format version, or for another platform: ignored with one notice", async () => {
  const exported = await build(["--cache-to", `type=registry,ref=${reg.host}/app:cache`]);
  assert.match(exported.stderr, /exported cache/);
  const good = (await getManifest(reg.host, "app", "cache")).json;
  assert.equal(good.artifactType, "application/vnd.lading.buildcache.v1");
  assert.equal(good.annotations["dev.lading.cache.platform"], `linux/${process.arch === "x64" ? "amd64" : process.arch}`);
  const config = JSON.parse((await getBlob(reg.host, "app", good.config.digest)).toString());
  // The cache itself works: both steps are taken.
  const taken = await build(["--cache-from", `type=registry,ref=${reg.host}/app:cache`]);
  assert.deepEqual(events(taken).filter((e) => e.type === "step" && e.name.startsWith("COPY") && e.status !== "running").map((e) => e.status), ["cached", "cached"]);

  const plant = async (tag: string, cfg: unknown, annotations: Record<string, string> = good.annotations) => {
    const blob = await putBlob(reg.host, "app", Buffer.from(typeof cfg === "string" ? cfg : JSON.stringify(cfg)));
    await putManifest(reg.host, "app", tag, { ...good, config: { ...good.config, ...blob }, annotations });
  };
  await plant("garbled", "{ this is not json");
  await fallsBack(`${reg.host}/app:garbled`, /record list is not JSON/);
  await plant("outofrange", { ...config, records: config.records.map((r: { layer: { index: number } }) => ({ ...r, layer: { ...r.layer, index: 99 } })) });
  await fallsBack(`${reg.host}/app:outofrange`, /points at blob 99, which the manifest does not list/);
  await plant("future", { ...config, formatVersion: 2 }, { ...good.annotations, "dev.lading.cache.version": "2" });
  await fallsBack(`${reg.host}/app:future`, /has cache format 2; this lading reads format 1/);
  await plant("arm", { ...config, platform: { os: "linux", architecture: "arm64" } });
  await fallsBack(`${reg.host}/app:arm`, /is for linux\/arm64, not linux\//);
});

test("a --cache-from or --cache-to lading cannot take is a usage error, before any work", async () => {
  for (const [flag, spec, why] of [
    ["--cache-to", "type=local,dest=/tmp/x", /type=registry is the only cache type/],
    ["--cache-to", `type=registry,ref=${"127.0.0.1:1"}/a:b,mode=all`, /mode must be min or max/],
    ["--cache-from", "type=registry", /ref= is required/],
    ["--cache-from", "type=registry,ref=x,mode=max", /unknown field "mode"/],
    ["--cache-from", "type=registry,ref=Bad Ref", /build cache "Bad Ref"/],
  ] as const) {
    const s = store();
    const r = await lading(["build", "--lock", "off", "--store", s, flag, spec, ctx]);
    assert.equal(r.code, 2, `${flag} ${spec}: ${r.stderr}`);
    assert.match(r.stderr, why);
  }
});
