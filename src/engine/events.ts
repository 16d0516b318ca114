/** Progress events: one per step state change. The CLI renders them; tools and traces read them. */
export type StepStatus = "running" | "done" | "cached" | "error";

/** A fact about a step for tools and traces: a cache key, a digest, a size, an exit code. */
export type StepAttribute = string | number | boolean;

export interface StepEvent {
  type: "step";
  /** Stable within one session: the step's cache key (or `push:REF`, `from:ADDRESS`, a span's own id). */
  id: string;
  /** What the step is, e.g. `COPY . /app` or `withExec sh -c make`. */
  name: string;
  status: StepStatus;
  /** Seconds, on done/cached/error. */
  duration?: number;
  /** Whether the step wrote a layer (false for cached hits and metadata). */
  layerWork?: boolean;
  error?: string;
  metrics?: Record<string, unknown>;
  /**
   * The step or span this one ran inside (a blob inside its push, a step
   * inside a `client.span`), so traces nest as the work did. Unset at the top.
   */
  parent?: string;
  /**
   * "span": a phase a tool opened with `client.span`; "detail": one part of
   * a step (a blob of a push or pull). Progress lines leave both out; traces
   * and JSON progress keep them.
   */
  kind?: "span" | "detail";
  /** Cache key, input and output digests and sizes, exit code: `lading.*` names, as traces show them. */
  attributes?: Record<string, StepAttribute>;
}

export interface LogEvent {
  type: "log";
  id: string;
  stream: "stdout" | "stderr";
  text: string;
}

export interface DebugEvent {
  type: "debug";
  message: string;
}

/**
 * Something the user should know that does not stop the work: a build
 * cache that was asked for but could not be used (missing, unreachable,
 * another platform or format). Shown in every progress mode.
 */
export interface WarningEvent {
  type: "warning";
  message: string;
}

export type ProgressEvent = StepEvent | LogEvent | DebugEvent | WarningEvent;
export type ProgressListener = (e: ProgressEvent) => void;
