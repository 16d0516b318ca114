// The registry build cache through the API (issue 18): Container.exportCache, connect({ cacheFrom }),
// client.importCache and buildContainerfile({ cacheFrom }); and the keys a fresh checkout keeps.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, LadingError, type Client, type ProgressEvent, type StepEvent } from "../../src/index.js";
import { buildContainerfile } from "../../src/frontends/containerfile/index.js";
import { tempDir } from "../helpers/tmp.js";
import { startRegistry, type RegistryHandle } from "../helpers/registry.js";
import { getManifest } from "../helpers/registry-http.js";
import { sha256 } from "../../src/oci/digest.js";

const t = tempDir("lading-regcache-api-");
let reg: RegistryHandle;
let ctx: string;
before(async () => {
  reg = await startRegistry();
  ctx = join(t.path, "ctx");
  mkdirSync(join(ctx, "src"), { recursive: true });
  writeFileSync(join(ctx, "src", "main.txt"), "main\n");
  writeFileSync(join(ctx, "Containerfile"), "FROM scratch\nCOPY src /app/\nLABEL x=y\n");
});
after(async () => {
  await reg?.stop();
  t.cleanup();
});

let n = 0;
const store = () => join(t.path, `store-${++n}`);

/** The final events of layer steps, by name. */
function layerSteps(events: ProgressEvent[]): Array<[string, string]> {
  return events.filter((e): e is StepEvent => e.type === "step" && !e.kind && e.status !== "running" && /^(withNewFile|withDirectory|COPY)/.test(e.name)).map((e) => [e.name, e.status]);
}

test("exportCache from one client, cacheFrom in another: the steps are taken, the digest is the same", async () => {
  const ref = `${reg.host}/api:cache`;
  const make = (c: Client) => c.container().withNewFile("/a", "a").withDirectory("/src", c.host().directory(join(ctx, "src"))).withEnvVariable("K", "v");
  const { digest, pushed } = await connect(async (c) => {
    const image = make(c);
    return { digest: await image.digest(), pushed: await image.exportCache(ref) };
  }, { store: store() });
  assert.match(pushed, new RegExp(`^${reg.host}/api:cache@sha256:[0-9a-f]{64}$`));
  assert.equal(sha256((await getManifest(reg.host, "api", "cache")).bytes), pushed.split("@")[1]);

  const events: ProgressEvent[] = [];
  const again = await connect((c) => make(c).digest(), { store: store(), cacheFrom: [ref], log: (e) => events.push(e) });
  assert.equal(again, digest);
  assert.deepEqual(layerSteps(events).map(([, s]) => s), ["cached", "cached"]);

  // The same through importCache, and buildContainerfile's own option.
  const events2: ProgressEvent[] = [];
  const viaImport = await connect(async (c) => {
    c.importCache(ref);
    return make(c).digest();
  }, { store: store(), log: (e) => events2.push(e) });
  assert.equal(viaImport, digest);
  assert.deepEqual(layerSteps(events2).map(([, s]) => s), ["cached", "cached"]);

  // A runner that took every step (no layer fetched) writes the cache back to the same tag and to another
  // repository: the first leaves the layers where they are, the second fetches them to push them there.
  const other = `${reg.host}/api-copy:cache`;
  const rewritten = await connect(async (c) => {
    const image = make(c);
    return [await image.exportCache(ref), await image.exportCache(other)];
  }, { store: store(), cacheFrom: [ref] });
  assert.equal(rewritten[0], pushed);
  assert.equal(rewritten[1]!.split("@")[1], pushed.split("@")[1]);
  const events4: ProgressEvent[] = [];
  assert.equal(await connect((c) => make(c).digest(), { store: store(), cacheFrom: [other], log: (e) => events4.push(e) }), digest);
  assert.deepEqual(layerSteps(events4).map(([, s]) => s), ["cached", "cached"]);

  const cfRef = `${reg.host}/api:containerfile`;
  const cfDigest = await connect(async (c) => {
    const image = await buildContainerfile(c, { file: join(ctx, "Containerfile"), context: ctx });
    await image.exportCache(cfRef, { mode: "max" });
    return image.digest();
  }, { store: store() });
  const events3: ProgressEvent[] = [];
  const rebuilt = await connect(async (c) => (await buildContainerfile(c, { file: join(ctx, "Containerfile"), context: ctx, cacheFrom: [cfRef] })).digest(), { store: store(), log: (e) => events3.push(e) });
  assert.equal(rebuilt, cfDigest);
  assert.deepEqual(layerSteps(events3), [["COPY src /app/", "cached"]]);
});

test("bad cache references and modes are refused at once", async () => {
  await assert.rejects(connect({ store: store(), cacheFrom: ["Not A Ref!"] }), (e: unknown) => e instanceof LadingError && e.code === "INVALID_ARGUMENT" && /build cache "Not A Ref!"/.test(e.message));
  await connect(async (c) => {
    assert.throws(() => c.importCache(""), (e: unknown) => e instanceof LadingError && e.code === "INVALID_ARGUMENT");
    await assert.rejects(c.container().exportCache(`${reg.host}/api:x`, { mode: "all" as "max" }), /cache mode must be "min" or "max"/);
  }, { store: store() });
});

test("a fresh checkout (same files, new mtimes) keeps its COPY steps cached; with mtimes kept, it does not", async () => {
  const dir = join(t.path, "checkout");
  mkdirSync(dir);
  writeFileSync(join(dir, "f"), "f\n");
  utimesSync(join(dir, "f"), 1_700_000_000, 1_700_000_000);
  const s = store();
  const build = (clampMtime: boolean) => {
    const events: ProgressEvent[] = [];
    return connect(async (c) => ({ digest: await c.container().withDirectory("/d", c.host().directory(dir)).digest(), events }), { store: s, clampMtime, log: (e) => events.push(e) });
  };
  const first = await build(true);
  utimesSync(join(dir, "f"), 1_800_000_000, 1_800_000_000);
  const second = await build(true);
  assert.equal(second.digest, first.digest);
  assert.deepEqual(layerSteps(second.events).map(([, st]) => st), ["cached"]);
  const kept1 = await build(false);
  utimesSync(join(dir, "f"), 1_700_000_000, 1_700_000_000);
  const kept2 = await build(false);
  assert.notEqual(kept2.digest, kept1.digest);
  assert.deepEqual(layerSteps(kept2.events).map(([, st]) => st), ["done"]);
});

test("platform variants: one cache per platform under an index; each platform takes its own, another gets one notice", async () => {
  const ref = `${reg.host}/api:multi`;
  const make = (c: Client, platform: string) => c.container({ platform }).withNewFile("/p", platform).withNewFile("/q", "q");
  const host = `linux/${process.arch === "x64" ? "amd64" : process.arch}`;
  const other = host === "linux/arm64" ? "linux/amd64" : "linux/arm64";
  const digests = await connect(async (c) => {
    const [a, b] = [make(c, host), make(c, other)];
    await a.exportCache(ref, { platformVariants: [b] });
    return [await a.digest(), await b.digest()];
  }, { store: store() });
  const idx = await getManifest(reg.host, "api", "multi");
  assert.equal(idx.json.mediaType, "application/vnd.oci.image.index.v1+json");
  assert.equal(idx.json.artifactType, "application/vnd.lading.buildcache.v1");
  assert.deepEqual(idx.json.manifests.map((m: { platform: { os: string; architecture: string } }) => `${m.platform.os}/${m.platform.architecture}`), [host, other]);

  const events: ProgressEvent[] = [];
  const again = await connect(async (c) => [await make(c, host).digest(), await make(c, other).digest(), await make(c, "linux/s390x").digest()], { store: store(), cacheFrom: [ref], log: (e) => events.push(e) });
  assert.deepEqual(again.slice(0, 2), digests);
  assert.deepEqual(layerSteps(events).map(([, s]) => s), ["cached", "cached", "cached", "cached", "done", "done"]);
  const notices = events.filter((e) => e.type === "warning").map((e) => (e as { message: string }).message);
  assert.equal(notices.length, 1, notices.join("\n"));
  assert.match(notices[0]!, new RegExp(`has no cache for linux/s390x \\(it has: ${host}, ${other}\\)`));
});
