/**
 * What the trace tests share: an environment free of the machine's own
 * OTEL_* and trace context, and the multi-stage build (COPY, RUN, COPY
 * --from) whose steps a later build of the same context finds cached.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lading } from "../helpers/cli.js";

/** This process's environment without any OTEL_* or W3C trace context of the machine running the tests, plus `extra`. */
export function traceFreeEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("OTEL_") && k !== "TRACEPARENT" && k !== "TRACESTATE") env[k] = v;
  return { ...env, ...extra };
}

export interface MultiStageContext {
  /** The build context folder (a.txt and the Containerfile). */
  ctx: string;
  /** The Containerfile's text: append steps to it to build more on the cached stages. */
  stages: string;
  /** The step names of `stages`, in order. */
  steps: string[];
}

/**
 * Writes, under `dir`, a context whose Containerfile has two stages on
 * `baseRef` (`COPY a.txt`, a `RUN`, `COPY --from=build`), and builds it once
 * into `store` with the CLI, so the next build of it finds those steps cached.
 */
export async function warmMultiStage(dir: string, baseRef: string, store: string): Promise<MultiStageContext> {
  const ctx = join(dir, "ctx");
  mkdirSync(ctx);
  writeFileSync(join(ctx, "a.txt"), "hello\n");
  const stages = `FROM ${baseRef} AS build\nCOPY a.txt /a.txt\nRUN cat /a.txt > /b.txt\n\nFROM ${baseRef}\nCOPY --from=build /b.txt /b.txt\n`;
  writeFileSync(join(ctx, "Containerfile"), stages);
  const warm = await lading(["build", "--store", store, "--progress", "quiet", ctx], { env: traceFreeEnv() });
  assert.equal(warm.code, 0, warm.stderr);
  return { ctx, stages, steps: [`FROM ${baseRef} AS build`, "COPY a.txt /a.txt", "RUN cat /a.txt > /b.txt", "COPY --from=build /b.txt /b.txt"] };
}
