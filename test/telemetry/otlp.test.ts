// Traces as a collector receives them: a real OTLP/HTTP receiver on
// 127.0.0.1 (protobuf decoded with the OpenTelemetry proto definitions, and
// JSON), fed by `lading build` through the standard OTEL_* variables and by
// the library's connect({ trace }). Runs an exec (root and, in CI, rootless).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "../../src/index.js";
import { makeBusyboxLayout, type TestImage } from "../helpers/images.js";
import { tempDir } from "../helpers/tmp.js";
import { lading } from "../helpers/cli.js";
import { startRegistry } from "../helpers/registry.js";
import { flattenSpans, startOtlpReceiver, type OtlpRequest, type ReceivedSpan } from "../helpers/otlp-receiver.js";
import { traceFreeEnv, warmMultiStage } from "./fixture.js";

const t = tempDir("lading-otlp-");
let busybox: TestImage;

before(async () => {
  busybox = await makeBusyboxLayout(join(t.path, "busybox"));
});
after(() => t.cleanup());

function byName(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const found = spans.filter((s) => s.name === name);
  assert.equal(found.length, 1, `one span named ${name}; spans: ${spans.map((s) => s.name).join(" | ")}`);
  return found[0]!;
}

test("lading build sends one trace over OTLP/protobuf: joins $TRACEPARENT, a span per step under the build, cache hits, the failing step's error and exit code, $TRACEPARENT inside a RUN naming its span, and no secret", async () => {
  const receiver = await startOtlpReceiver();
  try {
    const store = join(t.path, "store");
    const { ctx, stages, steps: staged } = await warmMultiStage(t.path, busybox.ref, store);

    const run = 'RUN --mount=type=secret,id=tok echo "tp=$TRACEPARENT"; echo "token $(cat /run/secrets/tok)"';
    const fail = "RUN echo going down; exit 4";
    writeFileSync(join(ctx, "Containerfile"), `${stages}${run}\n${fail}\n`);
    const secret = "tok-" + randomBytes(12).toString("hex");
    const traceId = randomBytes(16).toString("hex");
    const callerSpan = randomBytes(8).toString("hex");
    const traceFile = join(t.path, "build-trace.json");
    const r = await lading(["build", "--store", store, "--progress", "plain", "--secret", "id=tok,env=TOK", "--trace-file", traceFile, ctx], {
      env: traceFreeEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: "lading-under-test", TRACEPARENT: `00-${traceId}-${callerSpan}-01`, TOK: secret }),
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /exit code: 4/);

    assert.ok(receiver.requests.length > 0, "the collector got the trace");
    for (const q of receiver.requests) assert.match(q.contentType, /^application\/x-protobuf/, "http/protobuf is the default protocol");
    const spans = receiver.spans();
    assert.deepEqual([...new Set(spans.map((s) => s.traceId))], [traceId], "one trace: the caller's");
    const root = byName(spans, "lading build");
    assert.equal(root.parentSpanId, callerSpan, "the build's span is a child of $TRACEPARENT's span");
    assert.equal(root.resource["service.name"], "lading-under-test");
    assert.ok(root.error !== undefined, "a failed build's span has status ERROR");

    const steps = spans.filter((s) => s !== root);
    const names = steps.map((s) => s.name);
    for (const want of [...staged, run, fail]) {
      assert.ok(names.includes(want), `a span for ${want}; got ${names.join(" | ")}`);
    }
    for (const s of steps) assert.equal(s.parentSpanId, root.spanId, `${s.name} sits under the build`);

    for (const cached of ["COPY a.txt /a.txt", "RUN cat /a.txt > /b.txt", "COPY --from=build /b.txt /b.txt"]) {
      const s = byName(spans, cached);
      assert.equal(s.attributes["lading.cache"], "hit", cached);
      assert.match(String(s.attributes["lading.cache.key"]), /^sha256:[0-9a-f]{64}$/);
      assert.match(String(s.attributes["lading.output.digest"]), /^sha256:[0-9a-f]{64}$/);
      assert.equal(typeof s.attributes["lading.output.size"], "number");
      assert.equal(s.error, undefined);
    }

    const ran = byName(spans, run);
    assert.equal(ran.attributes["lading.cache"], "miss");
    assert.equal(ran.attributes["lading.exec.exit_code"], 0);
    assert.equal(typeof ran.attributes["lading.cpu.user_seconds"], "number");
    assert.equal(typeof ran.attributes["lading.cpu.system_seconds"], "number");
    assert.ok(["cgroup", "host"].includes(String(ran.attributes["lading.cpu.pressure.source"])), JSON.stringify(ran.attributes));
    assert.equal(typeof ran.attributes["lading.duration_seconds"], "number");
    const stdout = ran.events.filter((e) => e.name === "log" && e.attributes["log.stream"] === "stdout").map((e) => String(e.attributes["log.text"])).join("");
    assert.match(stdout, new RegExp(`^tp=00-${traceId}-${ran.spanId}-01$`, "m"), "inside the RUN, $TRACEPARENT names the RUN's own span");
    assert.match(stdout, /^token \*\*\*$/m, "the secret is scrubbed from the log");

    const failed = byName(spans, fail);
    assert.match(failed.error ?? "", /exit code: 4/);
    assert.equal(failed.attributes["lading.exec.exit_code"], 4);
    const exception = failed.events.find((e) => e.name === "exception");
    assert.match(String(exception?.attributes["exception.message"]), /exit code: 4/);

    for (const q of receiver.requests) assert.ok(!q.body.includes(secret), "no secret in any OTLP payload");
    const file = readFileSync(traceFile);
    assert.ok(!file.includes(secret), "no secret in the trace file");
    const fromFile = flattenSpans(JSON.parse(file.toString("utf8")) as OtlpRequest);
    assert.deepEqual(fromFile.map((s) => s.spanId).sort(), spans.map((s) => s.spanId).sort(), "the OTLP/JSON file holds the same spans the collector got");
  } finally {
    await receiver.stop();
  }
});

test("connect({ trace }) over OTLP/JSON: client.span phases nest the steps they cause, a push has a span per blob and manifest, and registry credentials are nowhere", async () => {
  const receiver = await startOtlpReceiver();
  const user = "tracer";
  const pass = "pw-" + randomBytes(12).toString("hex");
  const reg = await startRegistry({ htpasswd: { user, pass } });
  const saved = { ...process.env };
  process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = `${receiver.url}/v1/traces`;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = "http/json";
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  delete process.env.TRACEPARENT;
  const traceFile = join(t.path, "push-trace.html");
  try {
    const client = await connect({ store: join(t.path, "store-lib"), trace: { file: traceFile, name: "release script" } });
    try {
      await client.span("package", async () => {
        const c = client.container().from(busybox.ref).withNewFile("/version", "1.0\n").withRegistryAuth(reg.host, user, client.setSecret("reg", pass));
        await c.sync();
        await client.span("publish", () => c.publish(`${reg.host}/trace/app:1`));
      });
    } finally {
      await client.close();
    }
    for (const q of receiver.requests) assert.match(q.contentType, /^application\/json/, "OTEL_EXPORTER_OTLP_PROTOCOL=http/json is honoured");
    const spans = receiver.spans();
    assert.equal(new Set(spans.map((s) => s.traceId)).size, 1);
    const root = byName(spans, "release script");
    assert.equal(root.parentSpanId, "");
    const pkg = byName(spans, "package");
    assert.equal(pkg.parentSpanId, root.spanId);
    const publish = byName(spans, "publish");
    assert.equal(publish.parentSpanId, pkg.spanId);
    assert.equal(byName(spans, "withNewFile /version").parentSpanId, pkg.spanId, "a step is under the phase that caused it");
    const push = byName(spans, `push ${reg.host}/trace/app:1`);
    assert.equal(push.parentSpanId, publish.spanId);
    const parts = spans.filter((s) => s.parentSpanId === push.spanId);
    assert.ok(parts.some((s) => s.name.startsWith("push manifest sha256:")), parts.map((s) => s.name).join(" | "));
    const blobs = parts.filter((s) => s.name.startsWith("push blob sha256:"));
    assert.equal(blobs.length, 3, "busybox's layer, the new layer and the config");
    const sent = parts.reduce((n, s) => n + Number(s.attributes["lading.push.bytes"] ?? 0), 0);
    assert.ok(blobs.every((s) => Number(s.attributes["lading.push.bytes"]) === Number(s.attributes["lading.blob.size"])), "each blob went up whole");
    assert.equal(root.attributes["lading.push.bytes"], sent, "the session's total is the sum of its blobs and manifest");

    const basic = Buffer.from(`${user}:${pass}`).toString("base64");
    const page = readFileSync(traceFile);
    for (const bytes of [...receiver.requests.map((q) => q.body), page]) {
      assert.ok(!bytes.includes(pass), "no registry password");
      assert.ok(!bytes.includes(basic), "no basic-auth header value");
    }
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
    await reg.stop();
    await receiver.stop();
  }
});

test("with tracing off, no @opentelemetry module is loaded; with a trace file, they are", () => {
  const script = join(t.path, "probe.mjs");
  const index = fileURLToPath(new URL("../../src/index.js", import.meta.url));
  writeFileSync(
    script,
    `import { createRequire } from "node:module";
const { connect } = await import(${JSON.stringify(index)});
const trace = process.argv[2] ? { file: process.argv[2] } : undefined;
const client = await connect({ store: ${JSON.stringify(join(t.path, "store-probe"))}, ...(trace ? { trace } : {}) });
try { await client.container().from(${JSON.stringify(busybox.ref)}).withNewFile("/p", "p").digest(); } finally { await client.close(); }
const loaded = Object.keys(createRequire(import.meta.url).cache).filter((p) => p.includes("@opentelemetry"));
console.log(JSON.stringify(loaded));
`,
  );
  const off = spawnSync(process.execPath, [script], { env: traceFreeEnv({}), encoding: "utf8" });
  assert.equal(off.status, 0, off.stderr);
  assert.deepEqual(JSON.parse(off.stdout), []);
  const on = spawnSync(process.execPath, [script, join(t.path, "probe.json")], { env: traceFreeEnv({}), encoding: "utf8" });
  assert.equal(on.status, 0, on.stderr);
  assert.ok((JSON.parse(on.stdout) as string[]).some((p) => p.includes("@opentelemetry/sdk-trace-base")), on.stdout);
});
