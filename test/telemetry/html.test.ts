// The shareable trace page, opened in a real browser (headless Chromium):
// after its scripts ran, the DOM lists every step, marks the failing one
// and the cache hits; the file names no URL at all, so nothing can leave the
// page; a screenshot lands in the test output for people to look at.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "../../src/index.js";
import { makeBusyboxLayout, type TestImage } from "../helpers/images.js";
import { tempDir } from "../helpers/tmp.js";
import { lading } from "../helpers/cli.js";
import { traceFreeEnv, warmMultiStage } from "./fixture.js";
import { assertOpensOffline, fetchingAttributes, rows } from "./trace-page.js";
import { dumpDom, haveChromium, screenshot } from "../helpers/chromium.js";

const t = tempDir("lading-tracehtml-");
let busybox: TestImage;
const noBrowser = haveChromium() ? false : "needs Debian's chromium (scripts/setup.sh)";

before(async () => {
  busybox = await makeBusyboxLayout(join(t.path, "busybox"));
});
after(() => t.cleanup());

/** Where screenshots go and stay after the run ($LADING_TEST_OUTPUT, else a folder in the temp dir). */
function outputDir(): string {
  const dir = process.env.LADING_TEST_OUTPUT ?? join(tmpdir(), "lading-test-output");
  mkdirSync(dir, { recursive: true });
  return dir;
}

test("the --trace-file page in headless Chromium: every step listed, the failing one marked with its error, cache hits set apart, no URL anywhere, and a screenshot", { skip: noBrowser }, async (tc) => {
  const store = join(t.path, "store");
  const { ctx, stages: base, steps: staged } = await warmMultiStage(t.path, busybox.ref, store);
  // The log names URLs and markup: the page must show them as text, never load or parse them.
  const steps = [
    "RUN echo 'fetching https://example.com/pkg.tar.gz and //cdn.example.org/x.js'; echo '</script><img src=x>'",
    "RUN for i in 1 2 3; do echo line $i; done >&2",
    "RUN echo about to fail; yes 0123456789 | head -c 100000 >&2; exit 3",
  ];
  writeFileSync(join(ctx, "Containerfile"), `${base}${steps.join("\n")}\n`);
  const page = join(t.path, "build-trace.html");
  const r = await lading(["build", "--store", store, "--progress", "quiet", "--trace-file", page, ctx], { env: traceFreeEnv() });
  assert.equal(r.code, 1, r.stderr);

  const text = readFileSync(page, "utf8");
  assertOpensOffline(text);

  const dom = dumpDom(page);
  const shown = rows(dom);
  const names = shown.map((x) => x.name);
  for (const want of [...staged, ...steps]) {
    assert.ok(names.includes(want), `the page lists ${want}; it lists ${names.join(" | ")}`);
  }
  const failing = shown.filter((x) => x.classes.includes("failed") && !x.name.startsWith("lading build"));
  assert.deepEqual(failing.map((x) => x.name), [steps[2]]);
  assert.deepEqual(shown.filter((x) => x.classes.includes("cached")).map((x) => x.name).sort(), ["COPY --from=build /b.txt /b.txt", "COPY a.txt /a.txt", "RUN cat /a.txt > /b.txt"]);
  // The failing step is selected on open: its error and its log are on screen.
  assert.match(dom, /<div class="error">[^<]*exit code: 3/);
  assert.match(dom, /<pre class="log">about to fail\n<\/pre>/);
  // 100000 characters of stderr: the last 64 KiB are kept, and the page says what was cut.
  assert.match(dom, /truncated: the first 34464 characters of this log were cut/);
  assert.match(dom, /<pre class="log">(0123456789\n)*0123456789\n?<\/pre>|<pre class="log">[0-9\n]{65536}<\/pre>/);
  assert.match(dom, /<b class="total-failed">1<\/b>/);
  assert.match(dom, /<b class="total-cached">3<\/b>/);
  assert.deepEqual(fetchingAttributes(dom), [], "the scripts made no element that fetches (the log's <img src=x> is text)");
  assert.match(dom, /&lt;\/script&gt;&lt;img src=x&gt;/, "markup in a step's text is shown as text");

  const png = join(outputDir(), "trace-page.png");
  screenshot(page, png, "1280,560");
  const bytes = readFileSync(png);
  assert.equal(bytes.subarray(1, 4).toString("latin1"), "PNG");
  tc.diagnostic(`screenshot of the trace page: ${png}`);
  // Regenerates the README's picture on request (it is committed small, not on every run).
  if (process.env.LADING_UPDATE_DOCS === "1") copyFileSync(png, fileURLToPath(new URL("../../../docs/trace-page.png", import.meta.url)));
});

test("a 500-step build's trace page stays under 2 MB (it has no logs)", async () => {
  const page = join(t.path, "big.html");
  const client = await connect({ store: join(t.path, "store-big"), trace: { file: page } });
  try {
    let c = client.container().from(busybox.ref);
    for (let i = 0; i < 500; i++) c = c.withNewFile(`/f/${i}`, `${i}\n`);
    await c.sync();
  } finally {
    await client.close();
  }
  const size = statSync(page).size;
  const spans = (readFileSync(page, "utf8").match(/withNewFile \\\/f\\\/\d+/g) ?? []).length;
  assert.ok(spans >= 500, `the page holds the 500 steps (found ${spans})`);
  assert.ok(size < 2_000_000, `${size} bytes`);
});
