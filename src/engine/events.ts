/** Progress events: one per step state change. The CLI renders them; tools read them as JSON lines. */
export type StepStatus = "running" | "done" | "cached" | "error";

export interface StepEvent {
  type: "step";
  /** Stable within one session: the step's cache key. */
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

export type ProgressEvent = StepEvent | LogEvent | DebugEvent;
export type ProgressListener = (e: ProgressEvent) => void;
