/**
 * The op graph: plain, serialisable records of what a value is made of.
 * api/ builds them (each call appends one op), engine/ evaluates them.
 * Nodes are immutable and shared: a node's identity is its content.
 */
import type { HealthConfig } from "../oci/types.js";

export type ExpectSpec = "SUCCESS" | "FAILURE" | "ANY" | number[];
export type CacheSharingMode = "SHARED" | "PRIVATE" | "LOCKED";

/** A secret is referenced by name in ops (and so in cache keys); its value lives only in the session. */
export interface SecretRef {
  name: string;
}

export type ConfigEdit =
  | { field: "env"; name: string; value?: string } // value undefined: remove
  | { field: "workdir"; path: string }
  | { field: "user"; user: string }
  | { field: "entrypoint"; args: string[] | null; keepDefaultArgs: boolean }
  | { field: "cmd"; args: string[] | null }
  | { field: "label"; name: string; value?: string }
  | { field: "expose"; port: string; remove?: boolean }
  | { field: "volume"; path: string }
  | { field: "stopSignal"; signal: string }
  | { field: "healthcheck"; healthcheck: HealthConfig | null }
  | { field: "shell"; args: string[] }
  | { field: "onBuild"; trigger: string }
  /** The image config's top-level author, not a field of its runtime config. */
  | { field: "author"; author: string };

export type MountSpec =
  | { type: "cache"; volume: string; sharing: CacheSharingMode; source?: DirectoryNode; owner?: string; userOwned?: true }
  | { type: "directory"; dir: DirectoryNode; owner?: string; readOnly?: boolean; userOwned?: true }
  | { type: "file"; file: FileNode; owner?: string; userOwned?: true }
  | { type: "temp"; copyUp?: true }
  | { type: "secret"; secret: SecretRef; mode: number; owner?: string };

export interface ExecSpec {
  args: string[];
  expect: ExpectSpec;
  stdin?: string;
  useEntrypoint: boolean;
  insecureRootCapabilities: boolean;
  noInit: boolean;
  network: "host" | "none";
  redirectStdout?: string;
  redirectStderr?: string;
  /** A nonce that makes the cache key unique (noCache). */
  cacheBuster?: string;
}

/**
 * A service (issue 14): a container's command that keeps running, reached
 * by hostname from the session's other containers; or a host's ports as
 * such a service. Plain data, so a binding to one keys on its definition.
 */
export type ServiceSpec =
  | { type: "container"; container: ContainerNode; args: string[]; useEntrypoint: boolean; noInit: boolean; insecureRootCapabilities: boolean; hostname?: string; timeoutSeconds?: number }
  | { type: "host"; ports: Array<{ frontend: number; backend: number }>; hostname?: string };

export type ContainerOp =
  | { type: "init"; platform: string }
  | { type: "from"; address: string }
  | { type: "import"; file: FileNode; tag?: string }
  | { type: "config"; edit: ConfigEdit }
  | { type: "annotation"; name: string; value?: string }
  | { type: "newFile"; path: string; contents: string; permissions: number; owner?: string }
  /** The last exec's stdout or stderr written as a file (withExec's redirectStdout/redirectStderr). */
  | { type: "execOutput"; path: string; stream: "stdout" | "stderr" }
  | { type: "file"; path: string; file: FileNode; permissions?: number; owner?: string }
  | { type: "directory"; path: string; dir: DirectoryNode; exclude: string[]; include: string[]; owner?: string; permissions?: number }
  | { type: "remove"; path: string; what: "file" | "directory" }
  | { type: "exec"; exec: ExecSpec }
  | { type: "mount"; target: string; mount: MountSpec }
  | { type: "unmount"; target: string }
  | { type: "secretEnv"; name: string; secret?: SecretRef }
  /** Credentials for one registry host, for this chain's from() and publish(); without `secret`, removes them. */
  | { type: "registryAuth"; registry: string; username?: string; secret?: SecretRef }
  | { type: "rootfs"; dir: DirectoryNode }
  /** `alias` resolves to `service` for this chain's later execs (which start it when they run). */
  | { type: "serviceBinding"; alias: string; service: ServiceSpec };

export interface ContainerNode {
  readonly kind: "container";
  readonly parent?: ContainerNode;
  readonly op: ContainerOp;
  /** Shown in progress and written as history `created_by`. */
  readonly description?: string;
}

export type DirectoryOp =
  | { type: "empty" }
  | { type: "host"; path: string; exclude: string[]; include: string[] }
  | { type: "containerPath"; container: ContainerNode; path: string }
  | { type: "archive"; file: FileNode }
  /** One commit of a git repository (what `ref` names, resolved when evaluated); `url` never holds credentials. */
  | { type: "git"; url: string; ref: GitRefSpec; keepGitDir: boolean; auth: GitAuthSpec }
  | { type: "sub"; path: string }
  | { type: "newFile"; path: string; contents: string; permissions: number }
  | { type: "newDirectory"; path: string; permissions: number }
  | { type: "file"; path: string; file: FileNode; permissions?: number }
  | { type: "directory"; path: string; dir: DirectoryNode; exclude: string[]; include: string[] }
  | { type: "without"; path: string };

/** Which commit of a repository: a branch, tag, full ref, commit, the remote's HEAD, or a name as `git fetch` takes it. */
export interface GitRefSpec {
  kind: "branch" | "tag" | "commit" | "ref" | "head";
  name: string;
}

/**
 * How to reach a repository. Credentials change how content is fetched,
 * never what it is: none of this enters a cache key (a tree's key is its
 * commit), and secrets are referenced by name only.
 */
export interface GitAuthSpec {
  token?: SecretRef;
  header?: SecretRef;
  sshAuthSocket?: string;
  sshKnownHosts?: string;
}

export interface DirectoryNode {
  readonly kind: "directory";
  readonly parent?: DirectoryNode;
  readonly op: DirectoryOp;
}

export type FileSource =
  | { type: "host"; path: string }
  | { type: "dirPath"; dir: DirectoryNode; path: string }
  | { type: "containerPath"; container: ContainerNode; path: string }
  | { type: "newFile"; name: string; contents: string; permissions: number }
  | { type: "tarball"; container: ContainerNode; mediaTypes?: "OCI" | "Docker"; forcedCompression?: "Gzip" | "Zstd" | "Uncompressed"; platformVariants?: ContainerNode[] };

export interface FileNode {
  readonly kind: "file";
  readonly source: FileSource;
}

export function containerNode(parent: ContainerNode | undefined, op: ContainerOp, description?: string): ContainerNode {
  return Object.freeze({ kind: "container", parent, op, description });
}
export function directoryNode(parent: DirectoryNode | undefined, op: DirectoryOp): DirectoryNode {
  return Object.freeze({ kind: "directory", parent, op });
}
export function fileNode(source: FileSource): FileNode {
  return Object.freeze({ kind: "file", source });
}
