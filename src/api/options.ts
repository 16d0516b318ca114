/** Option types of the public API, one per method (Dagger's naming). */
import type { CacheSharingMode, ExpectSpec } from "../engine/ops.js";

export type ReturnType = ExpectSpec;
export type { CacheSharingMode };
export type NetworkProtocol = "TCP" | "UDP";
export type ImageMediaTypes = "OCI" | "Docker";
export type ImageLayerCompression = "Gzip" | "Zstd" | "Uncompressed";

export interface ContainerWithExecOpts {
  /**
   * Which exit codes count as success: "SUCCESS" (0, the default), "FAILURE" (any
   * non-zero code), "ANY" (every code), or a non-empty list of codes 0–255 such as
   * `[0, 42]`. A command killed by signal N exits 128+N (137 for SIGKILL), as in
   * docker. Outside it, evaluation fails with an ExecError; an invalid value
   * fails withExec itself with INVALID_ARGUMENT.
   */
  expect?: ExpectSpec;
  /** Text written to the command's standard input. */
  stdin?: string;
  /** Prepend the image's entrypoint to `args`. Default false (Dagger's default). */
  useEntrypoint?: boolean;
  /** Run with all capabilities (like `docker run --privileged` without devices). DANGER. */
  insecureRootCapabilities?: boolean;
  /**
   * Run the command itself as PID 1. By default, as in Dagger, an init
   * process (tini, from the host's Debian package tini) is PID 1: it reaps
   * orphaned zombies and forwards signals. Containerfile RUN steps run
   * without one, as in BuildKit.
   */
  noInit?: boolean;
  /** "host" (default; `RUN apt-get update` works) or "none". */
  network?: "host" | "none";
  /** Always run, never take a cached result. */
  noCache?: boolean;
  /** Write the command's stdout to this file in the container. */
  redirectStdout?: string;
  /** Write the command's stderr to this file in the container. */
  redirectStderr?: string;
  /** Step name in progress output and history (`RUN make`). */
  description?: string;
}

export interface ContainerWithFileOpts {
  /** Mode bits of the file (default: the source's). */
  permissions?: number;
  /** "uid[:gid]" or "user[:group]" (resolved in the image). Default 0:0. */
  owner?: string;
  description?: string;
}

export interface ContainerWithNewFileOpts {
  /** Mode bits; default 0o644. */
  permissions?: number;
  owner?: string;
  description?: string;
}

export interface ContainerWithDirectoryOpts {
  exclude?: string[];
  include?: string[];
  owner?: string;
  /** Mode bits applied to every file and directory copied (COPY --chmod). */
  permissions?: number;
  description?: string;
}

export interface ContainerWithEntrypointOpts {
  /** Keep the default args (CMD); by default they are cleared, as docker does. */
  keepDefaultArgs?: boolean;
}

export interface ContainerWithExposedPortOpts {
  protocol?: NetworkProtocol;
  description?: string;
}

export interface ContainerWithMountedCacheOpts {
  sharing?: CacheSharingMode;
  /** Contents to seed the cache with when it is empty. */
  source?: import("./directory.js").Directory;
  owner?: string;
}

export interface ContainerWithMountedSecretOpts {
  /** Mode bits; default 0o400. */
  mode?: number;
  owner?: string;
}

export interface HostDirectoryOpts {
  exclude?: string[];
  include?: string[];
}
