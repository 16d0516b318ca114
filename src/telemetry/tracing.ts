/** What a client session holds while it is traced. */
import type { ProgressListener } from "../engine/events.js";

export interface Tracing {
  /** The trace's id (32 hex digits). */
  readonly traceId: string;
  /** Feed it every progress event of the session. */
  listener: ProgressListener;
  /** The W3C `traceparent` of a running step's span, for the step's processes; undefined when not traced or propagation is off. */
  traceparent(stepId: string): string | undefined;
  /** Ends the trace, flushes exporters, writes the trace file; returns export failures (empty when all went out). */
  close(): Promise<string[]>;
}
