// `lading pull --trace-file X.html` (issue 16): from a real registry, the
// page holds a span per blob and per manifest the pull fetched, under the
// pull, with their digests and sizes; it names no URL and would fetch
// nothing, and headless Chromium, offline, draws a row for each.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { makeBusyboxLayout, type TestImage } from "../helpers/images.js";
import { tempDir } from "../helpers/tmp.js";
import { lading } from "../helpers/cli.js";
import { startRegistry, type RegistryHandle } from "../helpers/registry.js";
import { run } from "../helpers/tools.js";
import { dumpDom, haveChromium } from "../helpers/chromium.js";
import { traceFreeEnv } from "./fixture.js";
import { assertOpensOffline, fetchingAttributes, pageSpans, rows } from "./trace-page.js";

const t = tempDir("lading-pulltrace-");
let busybox: TestImage;
let reg: RegistryHandle;
const noBrowser = haveChromium() ? false : "needs Debian's chromium (scripts/setup.sh)";

before(async () => {
  busybox = await makeBusyboxLayout(join(t.path, "busybox"));
  reg = await startRegistry();
});
after(async () => {
  await reg?.stop();
  t.cleanup();
});

test("lading pull --trace-file page.html: a span per blob and manifest fetched, under the pull, with digest and size; offline in Chromium, a row for each", { skip: noBrowser }, async () => {
  const ref = `${reg.host}/trace/pulled:1`;
  const pushed = await lading(["push", "--store", join(t.path, "push-store"), "--progress", "quiet", busybox.ref, ref], { env: traceFreeEnv() });
  assert.equal(pushed.code, 0, pushed.stderr);
  const manifest = JSON.parse(run("skopeo", ["inspect", "--tls-verify=false", "--raw", `docker://${ref}`])) as { config: { digest: string; size: number }; layers: Array<{ digest: string; size: number }> };
  const manifestDigest = JSON.parse(run("skopeo", ["inspect", "--tls-verify=false", `docker://${ref}`])).Digest as string;

  const page = join(t.path, "pull-trace.html");
  const r = await lading(["pull", "--store", join(t.path, "pull-store"), "--progress", "quiet", "--trace-file", page, ref], { env: traceFreeEnv() });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), manifestDigest);

  const text = readFileSync(page, "utf8");
  assertOpensOffline(text);
  const spans = pageSpans(text);
  const root = spans.find((s) => s.parentSpanId === "");
  assert.equal(root?.name, "lading pull");
  const blobs = [manifest.config, ...manifest.layers];
  for (const b of blobs) {
    const span = spans.find((s) => s.name === `pull blob ${b.digest}`);
    assert.ok(span, `a span for blob ${b.digest}; spans: ${spans.map((s) => s.name).join(" | ")}`);
    assert.equal(span.attributes["lading.blob.digest"], b.digest);
    assert.equal(span.attributes["lading.blob.size"], b.size);
    assert.equal(span.attributes["lading.pull.bytes"], b.size, "fetched whole: the store was empty");
    assert.equal(span.attributes["lading.transfer"], "fetched");
  }
  const m = spans.find((s) => s.name === `pull manifest ${manifestDigest}`);
  assert.ok(m, `a span for the manifest; spans: ${spans.map((s) => s.name).join(" | ")}`);
  // Blobs and manifest are parts of the pull (the FROM step), which sits under the session.
  const parents = new Set([m, ...blobs.map((b) => spans.find((s) => s.name === `pull blob ${b.digest}`)!)].map((s) => s.parentSpanId));
  assert.equal(parents.size, 1, "all under one span");
  const pull = spans.find((s) => s.spanId === [...parents][0]);
  assert.ok(pull && pull.parentSpanId === root!.spanId, `the parts sit under a step of the session (${pull?.name})`);
  const moved = blobs.reduce((n, b) => n + b.size, 0);
  assert.ok(Number(root!.attributes["lading.pull.bytes"]) >= moved, `the session's total counts the blobs (${root!.attributes["lading.pull.bytes"]} ≥ ${moved})`);

  const dom = dumpDom(page);
  const names = rows(dom).map((x) => x.name);
  for (const want of [...blobs.map((b) => `pull blob ${b.digest}`), `pull manifest ${manifestDigest}`]) assert.ok(names.includes(want), `the page draws ${want}; it draws ${names.join(" | ")}`);
  assert.deepEqual(fetchingAttributes(dom), [], "the scripts made no element that fetches");
});
