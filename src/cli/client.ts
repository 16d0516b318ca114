import { connect, type Client, type ProgressListener } from "../index.js";
import type { CliIO } from "./io.js";

export interface CommonOpts {
  store?: string;
  insecureRegistry?: string[];
  runtime?: string;
}

export function openClient(opts: CommonOpts & { noCache?: boolean; pull?: string; clampMtime?: boolean }, io: CliIO, log?: ProgressListener, extra: { sourcePins?: Record<string, string>; requirePins?: boolean } = {}): Promise<Client> {
  return connect({
    ...extra,
    store: opts.store,
    noCache: opts.noCache,
    clampMtime: opts.clampMtime,
    pull: opts.pull as "missing" | "always" | "never" | undefined,
    insecureRegistries: opts.insecureRegistry?.length ? opts.insecureRegistry : undefined,
    runtime: opts.runtime as "runc" | "crun" | "podman" | undefined,
    log,
    signal: io.signal,
  });
}
