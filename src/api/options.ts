/**
 * Option types of the public API: one `…Opts` per method that takes
 * options, named as Dagger names them (`<Class><Method>Opts`), so a user's
 * editor shows each field's meaning and tooling can name the type.
 *
 * The few that must name an API class (`Container`, `Directory`) live beside
 * Container in container.ts: this file imports no API class, so no class
 * file ever imports it back into a cycle.
 */
import type { ExistsType, ImageLayerCompression, ImageMediaTypes, NetworkProtocol, ReturnType } from "./enums.js";

/**
 * Which exit codes of a `withExec` command count as success:
 *
 * - {@link ReturnType}`.Success` or `"SUCCESS"`: exit code 0 (the default)
 * - `ReturnType.Failure` or `"FAILURE"`: any non-zero code
 * - `ReturnType.Any` or `"ANY"`: every code
 * - a non-empty list of codes 0–255, such as `[0, 42]`
 *
 * A command killed by signal N exits 128+N (137 for SIGKILL), as in docker.
 * A code outside the set fails evaluation with an `ExecError` (code
 * `"EXEC_FAILED"`); an invalid value fails `withExec` itself with
 * `INVALID_ARGUMENT`.
 *
 * @example container.withExec(["grep", "-q", "x", "/etc/motd"], { expect: ReturnType.Any })
 */
export type ExecExpect = ReturnType | number[];

/** Options of every step that appears in progress output and the image history. */
interface Described {
  /**
   * The step's name in progress output and in the image's history
   * (Containerfile steps pass `RUN make`, `ENV A=1`, …). Default: made from
   * the call. Not part of the cache key.
   */
  description?: string;
}

/** Options of `Container.from`. */
export interface ContainerFromOpts extends Described {}

/** Options of `Container.import`. */
export interface ContainerImportOpts {
  /**
   * The image to take from an archive that holds several: its
   * `org.opencontainers.image.ref.name` (OCI) or one of its `RepoTags`
   * (docker save). Default: the one for this container's platform (OCI), or the first (docker save).
   */
  tag?: string;
}

/** Options of `Container.withExec`. */
export interface ContainerWithExecOpts extends Described {
  /**
   * Which exit codes count as success (see {@link ExecExpect}):
   * `ReturnType.Success` / "SUCCESS" (0, the default), `ReturnType.Failure` /
   * "FAILURE" (non-zero), `ReturnType.Any` / "ANY" (every code), or a list such as
   * `[0, 42]`. Outside it, evaluation fails with an `ExecError`
   * (code "EXEC_FAILED"); within it, the result is cached, non-zero too.
   */
  expect?: ExecExpect;
  /** Text written to the command's standard input (part of the cache key). */
  stdin?: string;
  /** Prepend the image's entrypoint to `args`. Default false (Dagger's default). */
  useEntrypoint?: boolean;
  /** Run with all capabilities (like `docker run --privileged` without devices). DANGER: the command can do anything the user namespace allows. */
  insecureRootCapabilities?: boolean;
  /**
   * Run the command itself as PID 1. By default, as in Dagger, an init
   * process (tini, from the host's Debian package tini) is PID 1: it reaps
   * orphaned zombies and forwards signals. Containerfile RUN steps run
   * without one, as in BuildKit.
   */
  noInit?: boolean;
  /**
   * "host" (default: the host's network, so `apt-get update` works; while a
   * service of the session runs, the session network instead, where the
   * services' hostnames resolve and slirp4netns gives the way out) or "none"
   * (a network namespace of its own, with no way out).
   */
  network?: "host" | "none";
  /** Always run, never take a cached result (and never record one). */
  noCache?: boolean;
  /** Also write the command's stdout to this file in the container (a layer of its own). */
  redirectStdout?: string;
  /** Also write the command's stderr to this file in the container (a layer of its own). */
  redirectStderr?: string;
}

/** Options of `Container.withEnvVariable`. */
export interface ContainerWithEnvVariableOpts extends Described {}

/** Options of `Container.withWorkdir`. */
export interface ContainerWithWorkdirOpts extends Described {}

/** Options of `Container.withUser`. */
export interface ContainerWithUserOpts extends Described {}

/** Options of `Container.withEntrypoint`. */
export interface ContainerWithEntrypointOpts extends Described {
  /** Keep the default args (CMD); by default they are cleared, as docker does. */
  keepDefaultArgs?: boolean;
}

/** Options of `Container.withoutEntrypoint`. */
export interface ContainerWithoutEntrypointOpts {
  /** Keep the default args (CMD); by default they are cleared, as docker does. */
  keepDefaultArgs?: boolean;
}

/** Options of `Container.withDefaultArgs`. */
export interface ContainerWithDefaultArgsOpts extends Described {}

/** Options of `Container.withLabel`. */
export interface ContainerWithLabelOpts extends Described {}

/** Options of `Container.withExposedPort`. */
export interface ContainerWithExposedPortOpts extends Described {
  /** Default "TCP". */
  protocol?: NetworkProtocol;
}

/** Options of `Container.withoutExposedPort`. */
export interface ContainerWithoutExposedPortOpts {
  /** The protocol of the port to remove. Default "TCP". */
  protocol?: NetworkProtocol;
}

/** Options of `Container.withVolume`. */
export interface ContainerWithVolumeOpts extends Described {}

/** Options of `Container.withStopSignal`. */
export interface ContainerWithStopSignalOpts extends Described {}

/** Options of `Container.withHealthcheck`. */
export interface ContainerWithHealthcheckOpts extends Described {}

/** Options of `Container.withShell`. */
export interface ContainerWithShellOpts extends Described {}

/** Options of `Container.withOnBuild`. */
export interface ContainerWithOnBuildOpts extends Described {}

/** Options of `Container.withAuthor`. */
export interface ContainerWithAuthorOpts extends Described {}

/** Options of `Container.withNewFile`. */
export interface ContainerWithNewFileOpts extends Described {
  /** Mode bits; default 0o644. */
  permissions?: number;
  /** "uid[:gid]" or "user[:group]", names resolved through the image's /etc/passwd and /etc/group. Default 0:0. */
  owner?: string;
}

/** Options of `Container.withFile`. */
export interface ContainerWithFileOpts extends Described {
  /** Mode bits of the file (default: the source's). */
  permissions?: number;
  /** "uid[:gid]" or "user[:group]" (resolved in the image). Default 0:0. */
  owner?: string;
}

/** Options of `Container.withDirectory`. */
export interface ContainerWithDirectoryOpts extends Described {
  /** Patterns (.dockerignore syntax) of paths to leave out. */
  exclude?: string[];
  /** Patterns of the only paths to take. */
  include?: string[];
  /** "uid[:gid]" or "user[:group]" of everything copied (resolved in the image). Default: the source's owners (0:0 for host files). */
  owner?: string;
  /** Mode bits applied to every file and directory copied (COPY --chmod). Default: the source's. */
  permissions?: number;
}

/** Options of `Container.withMountedDirectory`. */
export interface ContainerWithMountedDirectoryOpts {
  /**
   * "uid[:gid]" or "user[:group]", as in Dagger. Recorded (and part of the
   * cache key) but not applied yet: the mounted files keep their own owners.
   */
  owner?: string;
  /** Mount read-only. Default false: the command may write, but what it writes is dropped after the exec. */
  readOnly?: boolean;
  /**
   * podman's `U`: before each command, the mount's contents are chowned
   * (recursively) to the uid and gid that command runs as. Part of the
   * cache key.
   */
  userOwned?: boolean;
}

/** Options of `Container.withMountedFile`. */
export interface ContainerWithMountedFileOpts {
  /**
   * "uid[:gid]" or "user[:group]", as in Dagger. Recorded (and part of the
   * cache key) but not applied yet: the mounted file keeps its own owner.
   */
  owner?: string;
  /**
   * podman's `U`: before each command, the mount's contents are chowned
   * (recursively) to the uid and gid that command runs as. Part of the
   * cache key.
   */
  userOwned?: boolean;
}

/** Options of `Container.withMountedTemp`. */
export interface ContainerWithMountedTempOpts {
  /**
   * podman's `tmpcopyup`: the tmpfs starts with a copy of what the image
   * has at the mount point (default: empty, as BuildKit mounts it).
   */
  copyUp?: boolean;
}

/** Options of `Container.withMountedSecret`. */
export interface ContainerWithMountedSecretOpts {
  /** Mode bits; default 0o400. */
  mode?: number;
  /** "uid[:gid]" or "user[:group]" of the secret file. Default 0:0. */
  owner?: string;
}

/** How a computed image is written (shared by `digest`, `export`, `publish`, `asTarball`). */
export interface ImageFormatOpts {
  /** `ImageMediaTypes.Ocimediatypes` or `.Dockermediatypes` (also "OCI", "Docker"). Default: the client's `mediaTypes` (OCI unless set in `connect`). */
  mediaTypes?: ImageMediaTypes;
  /** Recompress every layer to this (`ImageLayerCompression.Gzip`, `.Zstd`, `.Uncompressed`; `.Estargz` is refused). Default: layers keep the compression they have. */
  forcedCompression?: ImageLayerCompression;
}

/** Options of `Container.digest`. */
export interface ContainerDigestOpts extends ImageFormatOpts {}

/** Options of `Directory.entries`. */
export interface DirectoryEntriesOpts {
  /** The directory to list, relative to this one. Default: the top. */
  path?: string;
}

/** Options of `Directory.exists`. */
export interface DirectoryExistsOpts {
  /** Also require the entry to be of this type (`ExistsType.DirectoryType`, `.RegularType`, `.SymlinkType`; also "DIRECTORY", "REGULAR", "SYMLINK"). */
  expectedType?: ExistsType;
}

/** Options of `Directory.withNewFile`. */
export interface DirectoryWithNewFileOpts {
  /** Mode bits; default 0o644. */
  permissions?: number;
}

/** Options of `Directory.withNewDirectory`. */
export interface DirectoryWithNewDirectoryOpts {
  /** Mode bits; default 0o755. */
  permissions?: number;
}

/** Options of `Directory.withFile`. */
export interface DirectoryWithFileOpts {
  /** Mode bits of the file. Default: the source's. */
  permissions?: number;
}

/** Options of `Directory.withDirectory`. */
export interface DirectoryWithDirectoryOpts {
  /** Patterns (.dockerignore syntax) of paths to leave out. */
  exclude?: string[];
  /** Patterns of the only paths to take. */
  include?: string[];
}

/** Options of `Client.container`. */
export interface ClientContainerOpts {
  /** "os/arch[/variant]", such as "linux/arm64". Default: this machine's. */
  platform?: string;
}

/** Options of `Client.inspectImage`. */
export interface ClientInspectImageOpts {
  /** Which image of a multi-platform index to read. Default: this machine's platform. */
  platform?: string;
  /**
   * When an index has no image for that platform, read its first one instead
   * of failing (`inspection.index` then holds the whole list). Default false.
   */
  anyPlatform?: boolean;
}

/** Options of `Client.fsck`. */
export interface ClientFsckOpts {
  /** Remove what is broken, so the next build refetches or rebuilds it. Default false (report only). */
  repair?: boolean;
}

/** Options of `Host.directory`. */
export interface HostDirectoryOpts {
  /** Patterns (.dockerignore syntax) of paths to leave out. */
  exclude?: string[];
  /** Patterns of the only paths to take. */
  include?: string[];
}

/** Options of `login`. */
export interface LoginOpts {
  /** Registries reached over plain HTTP or without TLS verification when checking the credentials (loopback ones always are). */
  insecureRegistries?: string[];
}

