/**
 * One trace per client session, built from the engine's progress events:
 * a span per step, nested by the events' `parent`, ended when the step
 * reports done, cached or error. Loaded only when tracing is on (see
 * index.ts), so this is the one file that imports OpenTelemetry statically.
 *
 * Nothing is registered globally: a program that has its own tracer
 * provider keeps it, and ours goes away with the session.
 */
import { ROOT_CONTEXT, SpanStatusCode, trace, type Attributes, type Context, type Span } from "@opentelemetry/api";
import { parseTraceParent } from "@opentelemetry/core";
import { detectResources, envDetector, resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
import type { ProgressEvent, StepEvent } from "../engine/events.js";
import { LogBuffer } from "./log-buffer.js";
import { otlpFromEnv, otlpProtocol, type TraceOptions } from "./options.js";
import { stepAttributes } from "./step-attributes.js";
import { TraceTotals } from "./totals.js";
import type { Tracing } from "./tracing.js";

type Env = Record<string, string | undefined>;

interface OpenStep {
  span: Span;
  logs: { stdout?: LogBuffer; stderr?: LogBuffer };
}

/** Keeps every ended span, for the trace file. */
class KeepAll implements SpanProcessor {
  readonly spans: ReadableSpan[] = [];
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    this.spans.push(span);
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

/** Records the first failure of an exporter, so a trace that never arrived is said once, not silently lost. */
function watched(exporter: SpanExporter, failures: string[]): SpanExporter {
  return {
    export: (spans, done) =>
      exporter.export(spans, (r) => {
        if (r.code !== 0 && failures.length === 0) failures.push(r.error?.message ?? "export failed");
        done(r);
      }),
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}

async function otlpExporter(env: Env): Promise<SpanExporter> {
  // Both exporters read OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _HEADERS, _TIMEOUT and _COMPRESSION themselves.
  if (otlpProtocol(env) === "http/json") return new (await import("@opentelemetry/exporter-trace-otlp-http")).OTLPTraceExporter();
  return new (await import("@opentelemetry/exporter-trace-otlp-proto")).OTLPTraceExporter();
}

export async function startOtelTracing(opts: TraceOptions, env: Env, writeFile: (spans: ReadableSpan[]) => Promise<void>): Promise<Tracing> {
  const keep = opts.file ? new KeepAll() : undefined;
  const failures: string[] = [];
  const sdkOff = (env.OTEL_SDK_DISABLED ?? "").trim().toLowerCase() === "true";
  const exporter: SpanExporter | undefined =
    (opts.exporter === "otlp" && !sdkOff) || (opts.exporter === undefined && otlpFromEnv(env))
      ? await otlpExporter(env)
      : typeof opts.exporter === "object"
        ? (opts.exporter as unknown as SpanExporter)
        : undefined;
  const processors: SpanProcessor[] = [...(keep ? [keep] : []), ...(exporter ? [new BatchSpanProcessor(watched(exporter, failures))] : [])];
  const detected = detectResources({ detectors: [envDetector] });
  const resource = resourceFromAttributes({ "service.name": "lading" }).merge(detected);
  const provider = new BasicTracerProvider({ resource, spanProcessors: processors });
  const tracer = provider.getTracer("lading");

  // W3C trace context from the environment (CI systems, Dagger): the session joins that trace.
  const remote = env.TRACEPARENT ? parseTraceParent(env.TRACEPARENT) : null;
  const rootContext: Context = remote ? trace.setSpanContext(ROOT_CONTEXT, { ...remote, isRemote: true }) : ROOT_CONTEXT;
  const root = tracer.startSpan(opts.name ?? "lading", { attributes: { "lading.session": true } }, rootContext);
  const open = new Map<string, OpenStep>();
  const totals = new TraceTotals();

  const contextOf = (parent: string | undefined): Context => trace.setSpan(ROOT_CONTEXT, (parent && open.get(parent)?.span) || root);

  const start = (e: StepEvent, at?: number): OpenStep => {
    const span = tracer.startSpan(e.name, { attributes: stepAttributes(e) as Attributes, ...(at !== undefined ? { startTime: at } : {}) }, contextOf(e.parent));
    const step = { span, logs: {} };
    open.set(e.id, step);
    return step;
  };

  const finish = (e: StepEvent) => {
    // A step that reports its end without a start (a cache hit, a blob already there) still gets its span.
    const step = open.get(e.id) ?? start(e, Date.now() - (e.duration ?? 0) * 1000);
    const span = step.span;
    span.setAttributes(stepAttributes(e) as Attributes);
    for (const stream of ["stdout", "stderr"] as const) {
      const buf = step.logs[stream];
      if (!buf || buf.empty) continue;
      const { text, dropped } = buf.read();
      span.addEvent("log", { "log.stream": stream, "log.text": text, ...(dropped ? { "log.truncated_chars": dropped } : {}) });
    }
    if (e.status === "error") {
      const message = e.error ?? "failed";
      span.setStatus({ code: SpanStatusCode.ERROR, message });
      span.addEvent("exception", { "exception.type": "LadingError", "exception.message": message });
    }
    totals.add(e);
    span.end();
    open.delete(e.id);
  };

  const listener = (e: ProgressEvent) => {
    if (e.type === "log") {
      const step = open.get(e.id);
      if (step) (step.logs[e.stream] ??= new LogBuffer()).add(e.text);
      return;
    }
    if (e.type !== "step") return;
    if (e.status === "running") {
      if (!open.has(e.id)) start(e);
      else open.get(e.id)!.span.setAttributes(stepAttributes(e) as Attributes);
    } else finish(e);
  };

  return {
    traceId: root.spanContext().traceId,
    listener,
    traceparent(stepId: string) {
      if (opts.propagate === false) return undefined;
      const span = open.get(stepId)?.span;
      if (!span) return undefined;
      const sc = span.spanContext();
      return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 1 ? 1 : 0).toString(16).padStart(2, "0")}`;
    },
    async close() {
      // Steps still open (the session closed under them: an interrupt) end as unfinished, not as done.
      for (const [, step] of open) {
        step.span.setAttribute("lading.unfinished", true);
        step.span.setStatus({ code: SpanStatusCode.ERROR, message: "not finished when the session closed" });
        step.span.end();
      }
      open.clear();
      root.setAttributes(totals.attributes() as Attributes);
      if (totals.failed > 0) root.setStatus({ code: SpanStatusCode.ERROR, message: `${totals.failed} step(s) failed` });
      root.end();
      // Shutdown flushes; a collector that does not answer costs the standard OTLP timeout once, not once per retry and flush.
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), exportTimeoutMs(env));
        timer.unref();
      });
      const ended = await Promise.race([provider.shutdown().catch(() => "failed" as const), limit]);
      clearTimeout(timer);
      if (ended === "timeout" && failures.length === 0) failures.push(`the collector did not take the spans within ${exportTimeoutMs(env)} ms (OTEL_EXPORTER_OTLP_TIMEOUT)`);
      if (keep) await writeFile(keep.spans);
      return failures;
    },
  };
}

/** OTEL_EXPORTER_OTLP_TRACES_TIMEOUT, else OTEL_EXPORTER_OTLP_TIMEOUT, else the specification's 10 s. */
function exportTimeoutMs(env: Env): number {
  const v = Number(env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT || env.OTEL_EXPORTER_OTLP_TIMEOUT || 10000);
  return Number.isFinite(v) && v > 0 ? v : 10000;
}

/** OTLP/JSON of these spans, as an OTLP/HTTP collector would receive it. */
export function otlpJson(spans: ReadableSpan[]): string {
  return new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans));
}
