// The registry as a build cache shared by runners (issue 18): one store builds and exports the
// cache, another, empty store rebuilds from it through the real registry (as root, and rootless in CI).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { lading, type CliResult } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { makeBusyboxLayout, type TestImage } from "../helpers/images.js";
import { startRegistry, type RegistryHandle } from "../helpers/registry.js";
import { getBlob, getManifest } from "../helpers/registry-http.js";
import { validateArchive } from "../helpers/validate.js";
import { rmAll } from "./fixture.js";

const t = tempDir("lading-regcache-");
let reg: RegistryHandle;
let busybox: TestImage;
before(async () => {
  reg = await startRegistry();
  busybox = await makeBusyboxLayout(join(t.path, "busybox"));
});
after(async () => {
  await reg?.stop();
  rmAll(t);
});

let n = 0;
const fresh = (what: string) => join(t.path, `${what}-${++n}`);

function context(containerfile: string, files: Record<string, string> = {}): string {
  const dir = fresh("ctx");
  mkdirSync(dir);
  writeFileSync(join(dir, "Containerfile"), containerfile);
  for (const [k, v] of Object.entries(files)) writeFileSync(join(dir, k), v);
  return dir;
}

interface StepLine {
  name: string;
  status: string;
  attributes?: Record<string, unknown>;
}

/** The final status of every RUN and COPY step, in the order they finished. */
function steps(r: CliResult): StepLine[] {
  return r.stderr
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter((e) => e.type === "step" && !e.kind && /^(RUN|COPY) /.test(e.name) && e.status !== "running");
}

function warnings(r: CliResult): string[] {
  return r.stderr.trim().split("\n").map((l) => JSON.parse(l)).filter((e) => e.type === "warning").map((e) => e.message);
}

async function build(args: string[]): Promise<CliResult> {
  const r = await lading(["build", "--progress", "json", "--lock", "off", ...args]);
  assert.equal(r.code, 0, r.stderr);
  return r;
}

const TEN_STEPS = (seven: string) => `FROM BASE
RUN echo one > /one
COPY a.txt /files/
RUN cat /files/a.txt > /two
ENV STAGE=test
RUN echo "$STAGE" > /three && echo said three
RUN echo ${seven} > /seven
RUN cat /seven > /eight
COPY b.txt /files/
RUN ls / > /ten
`;

test("an empty store rebuilds a 10-step Containerfile from the registry cache without running a RUN, to the same digest; a change at step 7 reruns 7–10", async () => {
  const files = { "a.txt": "a\n", "b.txt": "b\n" };
  const ctx = context(TEN_STEPS("seven").replace("BASE", busybox.ref), files);
  const cache = `${reg.host}/app:buildcache`;
  const exporter = await build(["--store", fresh("store"), "-o", fresh("a") + ".tar", "--cache-to", `type=registry,ref=${cache}`, ctx]);
  const digest = exporter.stdout.trim();
  assert.match(exporter.stderr, new RegExp(`exported cache ${reg.host}/app:buildcache@sha256:`));

  // Another runner, empty store: every step is taken, none runs, same image; the tarball is whole.
  const out = fresh("b") + ".tar";
  const rebuilt = await build(["--store", fresh("store"), "-o", out, "--cache-from", `type=registry,ref=${cache}`, ctx]);
  assert.equal(rebuilt.stdout.trim(), digest);
  const taken = steps(rebuilt);
  assert.equal(taken.length, 8); // the ENV step writes no layer and has no record
  for (const s of taken) {
    assert.equal(s.status, "cached", `${s.name} was not taken from the cache`);
    assert.equal(s.attributes?.["lading.cache.source"], cache);
  }
  assert.deepEqual(warnings(rebuilt), []);
  const report = await validateArchive(out, fresh("unpacked"));
  assert.equal(report.layers, 1 + 8);

  // Without an output, nothing needs the cached layers: they stay in the registry. (A COPY of one
  // file to a path without a trailing "/", or a WORKDIR, would read the stage's files, as docker's rules ask.)
  const lazyStore = fresh("store");
  const lazy = await build(["--store", lazyStore, "--cache-from", `type=registry,ref=${cache}`, ctx]);
  assert.equal(lazy.stdout.trim(), digest);
  const layerDigests = (await getManifest(reg.host, "app", "buildcache")).json.layers.map((l: { digest: string }) => l.digest.slice(7));
  const held = new Set(readdirSync(join(lazyStore, "blobs", "sha256")));
  assert.deepEqual(layerDigests.filter((d: string) => held.has(d)), []);

  // Step 7 changed: 2–6 are taken, 7–10 run.
  const changed = context(TEN_STEPS("SEVEN").replace("BASE", busybox.ref), files);
  const partial = await build(["--store", fresh("store"), "-o", fresh("c") + ".tar", "--cache-from", `type=registry,ref=${cache}`, changed]);
  assert.notEqual(partial.stdout.trim(), digest);
  const ran = steps(partial).filter((s) => s.status === "done").map((s) => s.name);
  const cached = steps(partial).filter((s) => s.status === "cached").map((s) => s.name);
  assert.deepEqual(ran, ["RUN echo SEVEN > /seven", "RUN cat /seven > /eight", "COPY b.txt /files/", "RUN ls / > /ten"]);
  assert.deepEqual(cached, ["RUN echo one > /one", "COPY a.txt /files/", "RUN cat /files/a.txt > /two", 'RUN echo "$STAGE" > /three && echo said three']);
});

test("mode=min holds the final stage's steps, mode=max every stage's", async () => {
  const ctx = context(`FROM ${busybox.ref} AS builder\nRUN echo built > /artifact\nFROM ${busybox.ref}\nCOPY --from=builder /artifact /artifact\nRUN cat /artifact > /copy\n`);
  const source = fresh("store");
  const exported = await build(["--store", source, "--cache-to", `type=registry,ref=${reg.host}/multi:min`, "--cache-to", `type=registry,ref=${reg.host}/multi:max,mode=max`, ctx]);
  const digest = exported.stdout.trim();
  const records = async (tag: string) => {
    const m = (await getManifest(reg.host, "multi", tag)).json;
    assert.equal(m.artifactType, "application/vnd.lading.buildcache.v1");
    return JSON.parse((await getBlob(reg.host, "multi", m.config.digest)).toString()).records.length;
  };
  assert.equal(await records("min"), 2);
  assert.equal(await records("max"), 3);

  const fromMin = await build(["--store", fresh("store"), "--cache-from", `type=registry,ref=${reg.host}/multi:min`, ctx]);
  assert.equal(fromMin.stdout.trim(), digest);
  assert.deepEqual(steps(fromMin).map((s) => [s.name, s.status]), [["RUN echo built > /artifact", "done"], ["COPY --from=builder /artifact /artifact", "cached"], ["RUN cat /artifact > /copy", "cached"]]);

  const fromMax = await build(["--store", fresh("store"), "--cache-from", `type=registry,ref=${reg.host}/multi:max`, ctx]);
  assert.equal(fromMax.stdout.trim(), digest);
  assert.deepEqual(steps(fromMax).map((s) => s.status), ["cached", "cached", "cached"]);
});

test("a secret a RUN reads never reaches the cache artifact, and the step is still taken from it", async () => {
  const secret = "s3cr3t-Value-9f1c";
  const ctx = context(`FROM ${busybox.ref}\nRUN --mount=type=secret,id=tok cat /run/secrets/tok && wc -c < /run/secrets/tok > /len\nRUN --mount=type=secret,id=tok,env=TOK sh -c 'echo "$TOK" >&2; echo ok > /ok'\n`);
  const env = { TOK: secret };
  const exported = await lading(["build", "--progress", "json", "--lock", "off", "--store", fresh("store"), "--secret", "id=tok,env=TOK", "--cache-to", `type=registry,ref=${reg.host}/secret:cache,mode=max`, ctx], { env });
  assert.equal(exported.code, 0, exported.stderr);
  const m = await getManifest(reg.host, "secret", "cache");
  const blobs = [m.bytes, await getBlob(reg.host, "secret", m.json.config.digest)];
  for (const l of m.json.layers) {
    const raw = await getBlob(reg.host, "secret", l.digest);
    blobs.push(l.mediaType.endsWith("+gzip") ? gunzipSync(raw) : raw);
  }
  assert.equal(m.json.layers.length, 2);
  for (const b of blobs) assert.equal(b.includes(secret), false, "the secret is in the cache artifact");
  // The scrubbed output is what was cached.
  assert.match(JSON.parse(blobs[1]!.toString()).records.map((r: { exec?: { stdout?: { text?: string } } }) => r.exec?.stdout?.text ?? "").join(""), /\*\*\*/);

  const again = await lading(["build", "--progress", "json", "--lock", "off", "--store", fresh("store"), "--secret", "id=tok,env=TOK", "--cache-from", `type=registry,ref=${reg.host}/secret:cache`, ctx], { env });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout.trim(), exported.stdout.trim());
  assert.deepEqual(steps(again).map((s) => s.status), ["cached", "cached"]);
});
