/**
 * The messages between runExec (outside) and the exec helper (inside the
 * namespaces): plain data sent over node's IPC channel (advanced
 * serialization, so output chunks travel as bytes). Secret values travel
 * only here and in the runtime bundle (mode 0700, removed afterwards).
 *
 * A helper serves jobs one after another. The command's output comes as
 * `output` messages on the same channel as the job's answer, so every byte
 * of a job's output arrives before its `result`, `reaped` or `error`.
 */
import type { LayerRef } from "../oci/types.js";
import type { RuntimeName } from "./detect.js";
import type { Identity } from "./identity.js";

/** One mount of an exec, as the caller asks for it and as the helper gets it (a secret's bytes cross the channel as they are). */
export type ExecMount =
  | { type: "cache"; target: string; dir: string; sharing: "SHARED" | "PRIVATE" | "LOCKED"; uid?: number; gid?: number; chownToUser?: boolean }
  | { type: "bind"; target: string; source: string; readOnly: boolean; chownToUser?: boolean; uid?: number; gid?: number }
  | { type: "tmpfs"; target: string; copyUp?: boolean }
  | { type: "secret"; target: string; data: Uint8Array; mode: number; uid: number; gid: number };

export interface ExecJob {
  kind: "exec";
  storeRoot: string;
  identity: Identity;
  layers: LayerRef[];
  args: string[];
  env: string[];
  secretEnv: Record<string, string>;
  cwd: string;
  user: string;
  stdin?: string;
  mounts: ExecMount[];
  network: "host" | "none";
  /** A network lading made (net/): the container joins it instead of `network`, with these /etc files. */
  net?: ExecNet;
  /** A service (net/): runs until it ends or is stopped; nothing is diffed and no layer is written. */
  service?: boolean;
  insecureRootCapabilities: boolean;
  /** A static init (tini) on the host, run as the container's PID 1 in front of `args`; none with noInit. */
  init?: string;
  runtime: { name: RuntimeName; path: string };
  layer: { compression?: "gzip" | "zstd" | "none"; mediaTypes?: "OCI" | "Docker"; sourceDateEpoch?: number; clampMtime?: boolean };
  /** Settings read from lading's environment (a spare helper was started before they were set). */
  overlay: boolean;
  cgroup: boolean;
  /** The pid of the lading process that owns this container (for reaping). */
  ownerPid: number;
  containerId: string;
}

/**
 * A session network's side of one container: the network namespace to
 * join (made and configured by net/ before the run), and the /etc/hosts
 * its owner keeps current in place (so it is bind-mounted, never part of
 * an /etc layer: names that appear while the container runs must show).
 */
export interface ExecNet {
  netnsPath: string;
  hostsFile: string;
  hostname: string;
  /** The resolver when the network has a way out (slirp4netns's forwarder); none: every name is in the hosts file. */
  nameserver?: string;
}

export interface ReapJob {
  kind: "reap";
  storeRoot: string;
  identity: Identity;
  /** The installed OCI runtimes, whose leftover containers to look for. */
  runtimePaths: Partial<Record<"runc" | "crun", string>>;
}

/** Trees under the store that subordinate ids own, to hand back to the store's owner (see reclaim-job.ts). */
export interface ReclaimJob {
  kind: "reclaim";
  storeRoot: string;
  identity: Identity;
  paths: string[];
}

export type HelperJob = ExecJob | ReapJob | ReclaimJob;

export interface HelperMetrics {
  cpuUserSeconds?: number;
  cpuSystemSeconds?: number;
  cpuPressureSomeSeconds?: number;
  cpuPressureFullSeconds?: number;
  /** Where the CPU seconds come from. */
  source: "cgroup2-psi" | "cgroup2" | "cgroup1-cpuacct" | "rusage" | "runtime";
  /** Where the pressure figures come from: the exec's own cgroup (cpuPressure*), or the whole host (hostPressure*) when it has none. */
  pressureSource?: "cgroup" | "host";
  /** Host-wide /proc/pressure/cpu over the exec (seconds some / all non-idle tasks waited for a CPU): other work on the machine counts too. */
  hostPressureSomeSeconds?: number;
  hostPressureFullSeconds?: number;
}

export type OutputStream = "stdout" | "stderr";

/** Where the runtime's output goes; a returned promise holds the runtime's pipe until it resolves. */
export type OutputSink = (stream: OutputStream, chunk: Buffer) => Promise<void> | void;

export type HelperMessage =
  | { type: "debug"; msg: string }
  | { type: "output"; stream: OutputStream; data: Uint8Array }
  | { type: "result"; exitCode: number; layer?: LayerRef; metrics: HelperMetrics }
  | { type: "reaped"; containers: string[] }
  | { type: "reclaimed"; paths: number }
  | { type: "error"; code: string; message: string };
