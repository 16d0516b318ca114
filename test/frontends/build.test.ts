/**
 * buildContainerfile through the API: what the progress shows, options
 * applied to the final stage, independent stages evaluated in parallel,
 * build args kept out of the image.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type Client } from "../../src/api/client.js";
import type { ProgressEvent } from "../../src/engine/events.js";
import { buildContainerfile } from "../../src/frontends/containerfile/index.js";
import { ContainerfileError } from "../../src/errors.js";
import { makeBusyboxLayout, type TestImage } from "../helpers/images.js";
import { tempDir } from "../helpers/tmp.js";
import { execUnavailable } from "./exec-probe.js";

const tmp = tempDir();
let client: Client;
let base: TestImage;
const events: ProgressEvent[] = [];
let noExec: string | undefined;

before(async () => {
  client = await connect({ store: join(tmp.path, "store"), log: (e) => void events.push(e) });
  base = await makeBusyboxLayout(join(tmp.path, "base"));
  noExec = await execUnavailable();
});
after(async () => {
  await client.close();
  tmp.cleanup();
});

function project(name: string, containerfile: string, files: Record<string, string> = {}): { file: string; context: string } {
  const dir = join(tmp.path, name);
  mkdirSync(dir, { recursive: true });
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(join(dir, p, ".."), { recursive: true });
    writeFileSync(join(dir, p), c);
  }
  writeFileSync(join(dir, "Containerfile"), containerfile);
  return { file: join(dir, "Containerfile"), context: dir };
}

test("progress names each step by its instruction, and --label lands on the final stage", async () => {
  const p = project("progress", "FROM scratch\nCOPY a.txt /a.txt\nENV X=1\n", { "a.txt": "a" });
  events.length = 0;
  const c = await buildContainerfile(client, { ...p, labels: { "org.example.built-by": "lading" } });
  await c.sync();
  const names = events.filter((e) => e.type === "step").map((e) => (e as { name: string }).name);
  assert.ok(names.includes("COPY a.txt /a.txt"), `steps: ${names.join(" | ")}`);
  assert.equal(await c.label("org.example.built-by"), "lading");
});

test("a Containerfile that does not exist is NOT_FOUND, not a parse error", async () => {
  await assert.rejects(buildContainerfile(client, { file: join(tmp.path, "nope", "Containerfile"), context: tmp.path }), (e: Error & { code?: string }) => e.code === "NOT_FOUND");
});

test("a missing build context is NOT_FOUND before anything is built", async () => {
  const p = project("no-context", "FROM scratch\n");
  await assert.rejects(buildContainerfile(client, { file: p.file, context: join(tmp.path, "no-such-context") }), (e: Error & { code?: string }) => e.code === "NOT_FOUND" && e.message.includes("no-such-context"));
});

test("an API refusal during translation names the file and line", async () => {
  const bad = project("bad-platform", "FROM --platform=not/a/platform/at/all scratch\n");
  await assert.rejects(buildContainerfile(client, bad), (e: unknown) => e instanceof ContainerfileError && e.line === 1 && e.message.includes("invalid platform"));
});

test("independent stages run at the same time", async (t) => {
  if (noExec) return t.skip(noExec);
  // Each stage waits (up to 20 s) for the other's mark in a shared cache: run one after the other, the first gives up and fails.
  const wait = (me: string, other: string) =>
    `RUN --mount=type=cache,id=rendezvous,target=/r,sharing=shared touch /r/${me} && i=0; while [ ! -f /r/${other} ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done; test -f /r/${other} && echo ${me} > /${me}`;
  const p = project(
    "parallel",
    `ARG BASE\nFROM \${BASE} AS a\n${wait("a", "b")}\nFROM \${BASE} AS b\n${wait("b", "a")}\nFROM scratch\nCOPY --from=a /a /a\nCOPY --from=b /b /b\n`,
  );
  const c = await buildContainerfile(client, { ...p, buildArgs: { BASE: base.ref } });
  assert.equal(await c.file("/a").contents(), "a\n");
  assert.equal(await c.file("/b").contents(), "b\n");
});

test("build args reach RUN but not the image config", async (t) => {
  if (noExec) return t.skip(noExec);
  const p = project("args", "ARG BASE\nFROM ${BASE}\nARG SECRETISH=value\nRUN echo \"$SECRETISH\" > /seen\n");
  const c = await buildContainerfile(client, { ...p, buildArgs: { BASE: base.ref } });
  assert.equal(await c.file("/seen").contents(), "value\n");
  assert.equal(await c.envVariable("SECRETISH"), null);
});

test("building the same Containerfile again does no layer work and gives the same digest", async (t) => {
  if (noExec) return t.skip(noExec);
  const p = project(
    "rebuild",
    "ARG BASE\nFROM ${BASE} AS build\nWORKDIR /src\nCOPY . .\nRUN cat a.txt > /out.txt\nFROM scratch\nCOPY --from=build /out.txt /out.txt\nCOPY <<EOF /note\nhello\nEOF\n",
    { "a.txt": "a\n" },
  );
  const store = join(tmp.path, "rebuild-store");
  const build = async (log: ProgressEvent[]) => {
    const c2 = await connect({ store, log: (e) => void log.push(e) });
    try {
      const c = await buildContainerfile(c2, { ...p, buildArgs: { BASE: base.ref } });
      return await c.digest();
    } finally {
      await c2.close();
    }
  };
  const first: ProgressEvent[] = [];
  const second: ProgressEvent[] = [];
  const d1 = await build(first);
  const d2 = await build(second);
  assert.equal(d2, d1);
  assert.ok(first.some((e) => e.type === "step" && e.layerWork), "the first build wrote layers");
  const worked = second.filter((e) => e.type === "step" && e.layerWork).map((e) => (e as { name: string }).name);
  assert.deepEqual(worked, [], "steps that wrote layers on the second build");
});

test("a failing RUN can be traced back to its line", async (t) => {
  if (noExec) return t.skip(noExec);
  const { parseContainerfile, lineOfError } = await import("../../src/frontends/containerfile/index.js");
  const text = "ARG BASE\nFROM ${BASE}\nRUN true\nRUN exit 3\n";
  const p = project("failing-run", text);
  const c = await buildContainerfile(client, { ...p, buildArgs: { BASE: base.ref } });
  const err = await c.sync().then(
    () => undefined,
    (e: Error) => e,
  );
  assert.ok(err, "the build must fail");
  assert.equal((err as Error & { code?: string }).code, "EXEC_FAILED");
  assert.equal(lineOfError(parseContainerfile(text, "Containerfile"), err), 4, err.message);
});
