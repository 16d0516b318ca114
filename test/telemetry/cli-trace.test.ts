// `lading trace view` and the --trace-file flag's checks, through the CLI.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { tempDir } from "../helpers/tmp.js";
import { LADING, lading } from "../helpers/cli.js";

const t = tempDir("lading-traceview-");
after(() => t.cleanup());

const otlp = JSON.stringify({
  resourceSpans: [
    {
      resource: { attributes: [{ key: "service.name", value: { stringValue: "ci" } }] },
      scopeSpans: [{ scope: { name: "x" }, spans: [{ traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", name: "RUN make", kind: 1, startTimeUnixNano: "1700000000000000000", endTimeUnixNano: "1700000001000000000", status: { code: 2, message: "exit code: 2" } }] }],
    },
  ],
});

test("lading trace view FILE.json serves its trace page on 127.0.0.1 only, until interrupted", async () => {
  const file = join(t.path, "t.json");
  writeFileSync(file, otlp);
  const child = spawn(process.execPath, [LADING, "trace", "view", file], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (c) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once("line", resolve);
      child.once("close", () => reject(new Error(`exited early: ${stderr}`)));
    });
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
    const html = await page.text();
    assert.match(html, /<script type="application\/json" id="trace-data">/);
    assert.match(html, /RUN make/);
    assert.equal((await fetch(new URL("/elsewhere", url))).status, 404);
  } finally {
    child.kill("SIGINT");
  }
  assert.equal(await exited, 0, stderr);
});

test("lading trace view refuses a file that is not a trace, and --trace-file a name that is neither .html nor .json, before building", async () => {
  const bad = join(t.path, "bad.json");
  writeFileSync(bad, '{"spans": []}');
  const r = await lading(["trace", "view", bad]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /not an OTLP trace/);
  const missing = await lading(["trace", "view", join(t.path, "nope.json")]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read trace file/);

  const ctx = join(t.path, "ctx");
  mkdirSync(ctx);
  writeFileSync(join(ctx, "Containerfile"), "FROM scratch\n");
  const out = join(t.path, "trace.txt");
  const b = await lading(["build", "--store", join(t.path, "store"), "--trace-file", out, ctx]);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /name it \*\.html .* or \*\.json/);
  assert.ok(!existsSync(out));
});
