import type { ExecStore } from "./exec-store.js";
import type { OutputSink } from "./job.js";

/** What a backend gets for one container: the bundle dir and spec the helper made. */
export interface BackendRun {
  store: ExecStore;
  /** The id mapping's tag (state is kept per mapping). */
  tag: string;
  id: string;
  bundle: string;
  spec: Record<string, unknown>;
  stdin?: string;
  /** The runtime's own state folder for this mapping (runtimeStateRoot). */
  stateRoot: string;
  /** A cgroup leaf lading made for the container, when `cgroups` is "own". */
  cgroupLeaf?: string;
  output: OutputSink;
  /** Set while the container runs: how to kill it (cancellation, lading gone). */
  setRunning: (r: { kill(): Promise<void> } | undefined) => void;
}
