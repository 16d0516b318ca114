/**
 * Tracing for a client session: OpenTelemetry spans from the engine's
 * progress events, exported over OTLP and/or written to a trace file. This
 * file loads no OpenTelemetry module; `startTracing` loads them when
 * tracing is on, so a plain build pays nothing.
 */
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { LadingError } from "../errors.js";
import { writeFileAtomic } from "../fsutil/atomic.js";
import type { ProgressListener } from "../engine/events.js";
import { checkTraceOptions, tracingWanted, type TraceOptions } from "./options.js";

import type { Tracing } from "./tracing.js";

export type { Tracing } from "./tracing.js";
export { checkTraceOptions, tracingWanted, type TraceOptions, type SpanExporterLike } from "./options.js";


type Env = Record<string, string | undefined>;

/** Starts tracing when the options or the environment ask for it; undefined otherwise (and nothing is loaded). */
export async function startTracing(opts: TraceOptions | undefined, env: Env): Promise<Tracing | undefined> {
  checkTraceOptions(opts ?? {}, env);
  if (!tracingWanted(opts, env)) return undefined;
  // The file's place is fixed now, and must exist: a build must not run for nothing because its trace has nowhere to go.
  const o = opts?.file ? { ...opts, file: resolve(opts.file) } : (opts ?? {});
  if (o.file && !existsSync(dirname(o.file))) throw new LadingError("INVALID_ARGUMENT", `trace file ${o.file}: folder ${dirname(o.file)} does not exist`);
  const { startOtelTracing, otlpJson } = await import("./otel-session.js");
  return startOtelTracing(o, env, async (spans) => {
    if (!o.file) return;
    const json = otlpJson(spans);
    if (/\.json$/i.test(o.file)) return writeFileAtomic(o.file, json);
    const { renderTraceHtml } = await import("./html.js");
    await writeFileAtomic(o.file, renderTraceHtml(json));
  });
}
