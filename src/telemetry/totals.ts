/** The figures a whole trace is summed up by: steps, cache hits, failures, bytes moved. */
import type { StepAttribute, StepEvent } from "../engine/events.js";

export class TraceTotals {
  steps = 0;
  cached = 0;
  failed = 0;
  /** Steps with a cache key: what the hit ratio is over. */
  cacheable = 0;
  pulled = 0;
  pushed = 0;

  add(e: StepEvent): void {
    const bytes = (k: string) => (typeof e.attributes?.[k] === "number" ? (e.attributes[k] as number) : 0);
    this.pulled += bytes("lading.pull.bytes");
    this.pushed += bytes("lading.push.bytes");
    if (e.kind) return;
    this.steps++;
    if (e.status === "cached") this.cached++;
    if (e.status === "error") this.failed++;
    if (e.status === "cached" || e.attributes?.["lading.cache.key"] !== undefined) this.cacheable++;
  }

  attributes(): Record<string, StepAttribute> {
    return {
      "lading.steps.total": this.steps,
      "lading.steps.cached": this.cached,
      "lading.steps.failed": this.failed,
      "lading.cache.hit_ratio": this.cacheable ? this.cached / this.cacheable : 0,
      "lading.pull.bytes": this.pulled,
      "lading.push.bytes": this.pushed,
    };
  }
}
