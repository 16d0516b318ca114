/**
 * A step's life as events (running, then done or error), and what its
 * traces say of its input and output. Apart from steps/step.ts, whose layer
 * steps consult the registry cache: the cache's own import steps use this
 * too, and the import must not go both ways.
 */
import { ExecError } from "../../errors.js";
import type { Digest } from "../../oci/digest.js";
import type { LayerRef, Platform } from "../../oci/types.js";
import type { StepAttribute } from "../events.js";
import { formatPlatform } from "../image-state.js";
import type { Session } from "../session.js";

export interface StepInfo {
  id: string;
  name: string;
  /** True for steps that never write a layer (resolving a base image). */
  metadataOnly?: boolean;
  /** "span" for a tool's own phase (client.span), "detail" for one part of a step (a git fetch): progress lines leave both out. */
  kind?: "span" | "detail";
  /**
   * What the step starts from (cache key, input digests): shown on every
   * event of it. Read again when the step ends, so its work may add what it
   * learns on the way (which refspec a fetch needed).
   */
  attributes?: Record<string, StepAttribute>;
}

/** The image a step starts from, for traces: how many layers, and the top one. */
export function inputAttributes(state: { layers: readonly LayerRef[]; platform?: Platform }): Record<string, StepAttribute> {
  const top = state.layers[state.layers.length - 1];
  // The platform tells a multi-platform build's steps apart (they share names), in traces and progress.
  return { "lading.input.layers": state.layers.length, ...(top ? { "lading.input.top_layer": top.descriptor.digest } : {}), ...(state.platform ? { "lading.platform": formatPlatform(state.platform) } : {}) };
}

/** What a step's result says about its output, for traces: the layer written, the exit code. */
export function outputAttributes(out: unknown): Record<string, StepAttribute> {
  const o = out as { descriptor?: LayerRef["descriptor"]; layer?: LayerRef; manifest?: LayerRef["descriptor"]; exitCode?: number; cacheKey?: Digest } | undefined;
  const layer = o?.descriptor ?? o?.layer?.descriptor ?? o?.manifest;
  return {
    // A step keyed by its own work (a tree keyed as it is packed) knows its key only at the end.
    ...(o?.cacheKey ? { "lading.cache.key": o.cacheKey } : {}),
    ...(layer ? { "lading.output.digest": layer.digest, "lading.output.size": layer.size } : {}),
    ...(typeof o?.exitCode === "number" ? { "lading.exec.exit_code": o.exitCode } : {}),
    ...(typeof out === "string" && out.startsWith("sha256:") ? { "lading.output.digest": out } : {}),
  };
}

/** Runs one step, reporting running → done (or error) with its duration. */
export async function runStep<T>(session: Session, info: StepInfo, fn: () => Promise<T>, layerWork = !info.metadataOnly): Promise<T> {
  // Seconds from process.uptime() (monotonic, high resolution), not performance.now(): the first use of the
  // latter loads perf_hooks, ~4 ms of a short command.
  const t0 = process.uptime();
  const attrs = info.attributes ?? {};
  const kind = info.kind ? { kind: info.kind } : {};
  session.emit({ type: "step", id: info.id, name: info.name, status: "running", ...kind, attributes: { ...attrs } });
  try {
    const out = await session.within(info.id, fn);
    // Exec results carry CPU figures; they belong on the step's done event.
    const metrics = (out as { metrics?: Record<string, unknown> } | undefined)?.metrics;
    session.emit({ type: "step", id: info.id, name: info.name, status: "done", ...kind, duration: process.uptime() - t0, layerWork, ...(metrics ? { metrics } : {}), attributes: { ...attrs, ...outputAttributes(out) } });
    return out;
  } catch (err) {
    const exit: Record<string, StepAttribute> = err instanceof ExecError ? { "lading.exec.exit_code": err.exitCode } : {};
    session.emit({ type: "step", id: info.id, name: info.name, status: "error", ...kind, duration: process.uptime() - t0, error: (err as Error).message, attributes: { ...attrs, ...exit } });
    throw err;
  }
}
