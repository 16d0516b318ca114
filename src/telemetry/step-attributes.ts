/**
 * Span attributes from a step event: what the engine reported, under
 * `lading.*` names. CPU figures keep their source (cgroup, rusage, host-wide
 * PSI), so nobody reads a host-wide number as the step's own.
 */
import type { StepAttribute, StepEvent } from "../engine/events.js";

const METRIC_NAMES: Record<string, string> = {
  cpuUserSeconds: "lading.cpu.user_seconds",
  cpuSystemSeconds: "lading.cpu.system_seconds",
  cpuPressureSomeSeconds: "lading.cpu.pressure.some_seconds",
  cpuPressureFullSeconds: "lading.cpu.pressure.full_seconds",
  source: "lading.cpu.source",
  pressureSource: "lading.cpu.pressure.source",
  hostPressureSomeSeconds: "lading.cpu.host_pressure.some_seconds",
  hostPressureFullSeconds: "lading.cpu.host_pressure.full_seconds",
  wallSeconds: "lading.exec.wall_seconds",
};

export function stepAttributes(e: StepEvent): Record<string, StepAttribute> {
  const out: Record<string, StepAttribute> = { "lading.step.name": e.name, "lading.step.id": e.id };
  if (e.kind) out["lading.step.kind"] = e.kind;
  for (const [k, v] of Object.entries(e.attributes ?? {})) out[k] = v;
  for (const [k, v] of Object.entries(e.metrics ?? {})) {
    if (typeof v === "number" || typeof v === "string" || typeof v === "boolean") out[METRIC_NAMES[k] ?? `lading.exec.${k}`] = v;
  }
  if (e.duration !== undefined) out["lading.duration_seconds"] = e.duration;
  if (out["lading.cache.key"] !== undefined || e.status === "cached") out["lading.cache"] = e.status === "cached" ? "hit" : "miss";
  if (e.layerWork !== undefined) out["lading.layer_work"] = e.layerWork;
  return out;
}
