import { connect, type Client, type ProgressListener } from "../index.js";
import type { CliIO } from "./io.js";

export interface CommonOpts {
  store?: string;
  /** --trace-file */
  traceFile?: string;
  /** commander's --no-trace-propagate */
  tracePropagate?: boolean;
  insecureRegistry?: string[];
  runtime?: string;
}

export function openClient(opts: CommonOpts & { noCache?: boolean; pull?: string; clampMtime?: boolean; sourceDateEpoch?: number }, io: CliIO, log?: ProgressListener, extra: { sourcePins?: Record<string, string>; requirePins?: boolean } = {}, command = "lading"): Promise<Client> {
  return connect({
    ...extra,
    // The root span is named for the command; OTLP export follows the OTEL_* variables as for any connect().
    trace: { name: command, ...(opts.traceFile ? { file: opts.traceFile } : {}), ...(opts.tracePropagate === false ? { propagate: false } : {}) },
    store: opts.store,
    noCache: opts.noCache,
    clampMtime: opts.clampMtime,
    ...(opts.sourceDateEpoch !== undefined ? { sourceDateEpoch: opts.sourceDateEpoch } : {}),
    pull: opts.pull as "missing" | "always" | "never" | undefined,
    insecureRegistries: opts.insecureRegistry?.length ? opts.insecureRegistry : undefined,
    runtime: opts.runtime as "runc" | "crun" | "podman" | undefined,
    log,
    signal: io.signal,
  });
}
