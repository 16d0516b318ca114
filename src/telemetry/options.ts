/**
 * When tracing is on, decided without loading any OpenTelemetry module: a
 * plain build pays nothing for tracing it does not use. Only the standard
 * OTEL_* variables are read (nothing lading-specific).
 */
import { LadingError } from "../errors.js";

/** A span exporter of the OpenTelemetry SDK (`SpanExporter` of `@opentelemetry/sdk-trace-base`), for collectors of your own. */
export interface SpanExporterLike {
  export(spans: unknown[], resultCallback: (result: { code: number; error?: Error }) => void): void;
  shutdown(): Promise<void>;
  forceFlush?(): Promise<void>;
}

/** Options of `connect({ trace })`. */
export interface TraceOptions {
  /**
   * Also write the whole trace to this file when the client closes: `.html`
   * is one self-contained page (open it offline, attach it to an issue),
   * `.json` is OTLP/JSON (importable by Jaeger and other viewers).
   */
  file?: string;
  /**
   * Where spans go: "otlp" (the default when $OTEL_EXPORTER_OTLP_ENDPOINT or
   * $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set; configured by the standard
   * OTEL_EXPORTER_OTLP_* variables), "none", or an OpenTelemetry SDK span exporter.
   */
  exporter?: "otlp" | "none" | SpanExporterLike;
  /** The root span's name. Default "lading". */
  name?: string;
  /** Set $TRACEPARENT inside each exec to that exec's span, so traced tools in the container join the trace. Default true. */
  propagate?: boolean;
}

type Env = Record<string, string | undefined>;

const PROTOCOLS = ["http/protobuf", "http/json"] as const;
export type OtlpProtocol = (typeof PROTOCOLS)[number];

function truthy(v: string | undefined): boolean {
  return v !== undefined && v.trim().toLowerCase() === "true";
}

/** Whether the standard variables ask for OTLP export of traces. */
export function otlpFromEnv(env: Env): boolean {
  if (truthy(env.OTEL_SDK_DISABLED)) return false;
  if ((env.OTEL_TRACES_EXPORTER ?? "").split(",").map((s) => s.trim()).includes("none")) return false;
  return !!(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
}

/** Whether these options (and the environment) turn tracing on. */
export function tracingWanted(opts: TraceOptions | undefined, env: Env): boolean {
  if (opts?.file) return true;
  if (opts?.exporter === "none") return false;
  if (opts?.exporter !== undefined) return opts.exporter === "otlp" ? !truthy(env.OTEL_SDK_DISABLED) : true;
  return otlpFromEnv(env);
}

/** The OTLP protocol the standard variables name; grpc is not offered (it would pull in a gRPC stack). */
export function otlpProtocol(env: Env): OtlpProtocol {
  const p = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || "http/protobuf").trim();
  if (!(PROTOCOLS as readonly string[]).includes(p)) {
    const which = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ? "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL" : "OTEL_EXPORTER_OTLP_PROTOCOL";
    throw new LadingError("INVALID_ARGUMENT", `${which}="${p}" is not supported: use http/protobuf (the default) or http/json, and point the endpoint at the collector's OTLP/HTTP port (4318)`);
  }
  return p as OtlpProtocol;
}

/** Checks the options at connect, before anything runs. */
export function checkTraceOptions(opts: TraceOptions, env: Env): void {
  for (const k of Object.keys(opts)) {
    if (!["file", "exporter", "name", "propagate"].includes(k)) throw new LadingError("INVALID_ARGUMENT", `unsupported trace option "${k}": use file, exporter, name or propagate`);
  }
  if (opts.file !== undefined && !/\.(html|json)$/i.test(opts.file)) {
    throw new LadingError("INVALID_ARGUMENT", `trace file ${opts.file}: name it *.html (a page to open in a browser) or *.json (OTLP/JSON)`);
  }
  const e = opts.exporter;
  if (e !== undefined && e !== "otlp" && e !== "none" && (typeof e !== "object" || typeof e.export !== "function" || typeof e.shutdown !== "function")) {
    throw new LadingError("INVALID_ARGUMENT", `trace exporter must be "otlp", "none" or an OpenTelemetry span exporter (with export and shutdown)`);
  }
  if (e === "otlp" || (e === undefined && otlpFromEnv(env))) otlpProtocol(env);
}
