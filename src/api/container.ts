import { LadingError } from "../errors.js";
import { containerNode, directoryNode, fileNode, type ConfigEdit, type ContainerNode, type ContainerOp, type MountSpec } from "../engine/ops.js";
import { envValue, formatPlatform } from "../engine/image-state.js";
import type { ApiContext } from "./context.js";
import { Directory } from "./directory.js";
import { File } from "./file.js";
import type { CacheVolume, Secret } from "./secret.js";
import { Service, checkHostname, type ContainerAsServiceOpts } from "./service.js";
import type {
  ContainerDigestOpts,
  ContainerFromOpts,
  ContainerImportOpts,
  ContainerWithDefaultArgsOpts,
  ContainerWithDirectoryOpts,
  ContainerWithEntrypointOpts,
  ContainerWithEnvVariableOpts,
  ContainerWithExecOpts,
  ContainerWithExposedPortOpts,
  ContainerWithFileOpts,
  ContainerWithHealthcheckOpts,
  ContainerWithLabelOpts,
  ContainerWithMountedDirectoryOpts,
  ContainerWithMountedFileOpts,
  ContainerWithMountedTempOpts,
  ContainerWithMountedSecretOpts,
  ContainerWithNewFileOpts,
  ContainerWithOnBuildOpts,
  ContainerWithAuthorOpts,
  ContainerWithShellOpts,
  ContainerWithStopSignalOpts,
  ContainerWithUserOpts,
  ContainerWithVolumeOpts,
  ContainerWithWorkdirOpts,
  ContainerWithoutEntrypointOpts,
  ContainerWithoutExposedPortOpts,
  ImageFormatOpts,
} from "./options.js";
import { checkedSharing, mediaTypesFlavour, supportedCompression, type CacheSharingMode } from "./enums.js";
import type { HealthConfig, RuntimeConfig } from "../oci/types.js";

// These options name Container or Directory, so they live beside Container
// (options.ts imports no API class: directory.ts imports it, a cycle otherwise).

/** Options of `Container.withMountedCache`. */
export interface ContainerWithMountedCacheOpts {
  /** How concurrent execs share the volume (see {@link CacheSharingMode}): `CacheSharingMode.Shared` / "SHARED" (default), `.Private` / "PRIVATE" or `.Locked` / "LOCKED". */
  sharing?: CacheSharingMode;
  /** Contents to seed the volume with while it is empty. */
  source?: Directory;
  /** "uid[:gid]" or "user[:group]" (resolved in the image) given to the volume's top directory. */
  owner?: string;
  /**
   * podman's `U`: before each command, the mount's contents are chowned
   * (recursively) to the uid and gid that command runs as. Part of the
   * cache key.
   */
  userOwned?: boolean;
}

/** Options of `Container.export` and `Container.exportLayout`. */
export interface ContainerExportOpts extends ImageFormatOpts {
  /** Other platforms' builds of this image: with them, an image index is written. */
  platformVariants?: Container[];
  /** Name written as org.opencontainers.image.ref.name (and, in a tarball, docker's RepoTags). */
  tag?: string;
}

/** Options of `Container.exportLayout` (the same as `export`'s). */
export type ContainerExportLayoutOpts = ContainerExportOpts;

/** Options of `Container.publish`. */
export interface ContainerPublishOpts extends ImageFormatOpts {
  /** Other platforms' builds of this image: with them, an image index is pushed under the tag. */
  platformVariants?: Container[];
}

/** Options of `Container.exportCache`. */
export interface ContainerExportCacheOpts {
  /**
   * Which steps the cache holds: "min" (default) the steps of this image
   * (its chain, the stages it is built FROM included); "max" every step this
   * client took or ran for the image's platform, so a build's other stages
   * are cached too.
   * @example await image.exportCache("registry.example.com/app:buildcache", { mode: "max" })
   */
  mode?: "min" | "max";
  /** Other platforms' builds of this image: one cache per platform, under an index of lading's cache type. */
  platformVariants?: Container[];
}

/** Options of `Container.tag`. */
export interface ContainerTagOpts {
  /** Other platforms' builds of this image: with them, the name points at an image index over all of them. */
  platformVariants?: Container[];
}

/** Options of `Container.asTarball`. */
export interface ContainerAsTarballOpts extends ImageFormatOpts {
  /** Other platforms' builds of this image: with them, the tarball holds an image index. */
  platformVariants?: Container[];
}

/**
 * An OCI container image and the commands run on it: lazy and immutable.
 * Every `with…`/`without…` returns a new Container that records one more
 * step; nothing runs until an awaited method (`export`, `publish`,
 * `digest`, `stdout`, `sync`, …) asks for a result. Each step's result is
 * cached in the store under a key made of the step and its inputs, so a
 * second build of the same steps runs nothing.
 *
 * @example
 * const out = await client.container().from("oci:./busybox:latest")
 *   .withExec(["sh", "-c", "echo hello"]).stdout();
 */
export class Container {
  /** @internal The session and evaluator this value belongs to. */
  readonly ctx: ApiContext;
  /** @internal The op graph node this value stands for. */
  readonly node: ContainerNode;
  /** Not for direct use: made by `Client.container()` and by every step method. */
  constructor(ctx: ApiContext, node: ContainerNode) {
    this.ctx = ctx;
    this.node = node;
  }

  private with(op: ContainerOp, description?: string): Container {
    return new Container(this.ctx, containerNode(this.node, op, description));
  }
  private config(edit: ConfigEdit, description?: string): Container {
    return this.with({ type: "config", edit }, description);
  }
  private state() {
    return this.ctx.evaluator.container(this.node);
  }

  /**
   * Starts from an image. Lazy: the image is resolved when a result is
   * asked for, through the client's pull policy; digest-pinned images
   * already in the store are used without any request.
   * @param address `scratch`, a name in the store, `oci:DIR[:TAG]`,
   *   `oci-archive:FILE[:TAG]`, or a registry reference (`alpine:3.20`,
   *   `127.0.0.1:5000/app@sha256:…`).
   * @param opts See {@link ContainerFromOpts}.
   * @returns A container with that image's layers and config (its platform is this container's).
   * @throws LadingError `INVALID_ARGUMENT` at once when `address` is empty; on evaluation
   *   `NOT_FOUND`, `REGISTRY`, `AUTH` or `NETWORK` when the image cannot be had.
   * @example client.container().from("oci-archive:./base.tar:latest")
   */
  from(address: string, opts: ContainerFromOpts = {}): Container {
    if (typeof address !== "string" || !address) throw new LadingError("INVALID_ARGUMENT", "from() needs an image address");
    return this.with({ type: "from", address }, opts.description);
  }

  /**
   * Starts from an image in a tarball (an OCI archive or `docker save`
   * output). Lazy: the archive is read, and its blobs are stored, on evaluation.
   * @param file A host file (`client.host().file(path)`); other files fail with `UNSUPPORTED` on evaluation.
   * @param opts See {@link ContainerImportOpts}.
   * @throws LadingError on evaluation `NOT_FOUND` when `opts.tag` names no image in the archive.
   * @example client.container().import(client.host().file("./img.tar"))
   */
  import(file: File, opts: ContainerImportOpts = {}): Container {
    return this.with({ type: "import", file: file.node, tag: opts.tag });
  }

  /**
   * Runs a command on the container's root filesystem; its file changes
   * become one new layer (none when it changes nothing). Lazy: it runs
   * when a result is asked for. Its result (exit code, output, layer) is
   * cached under the step and its inputs unless `noCache`; a failure is never cached.
   * @param args The command and its arguments (no shell: use `["sh", "-c", "…"]` for one).
   * @param opts See {@link ContainerWithExecOpts}.
   * @throws LadingError `INVALID_ARGUMENT` at once for non-string args or an invalid `expect`;
   *   on evaluation an `ExecError` (code `EXEC_FAILED`) when the exit code is outside `expect`,
   *   `RUNTIME_UNAVAILABLE` when no runtime or root filesystem can be had.
   * @example container.withExec(["sh", "-c", "exit 42"], { expect: [0, 42] })
   */
  withExec(args: string[], opts: ContainerWithExecOpts = {}): Container {
    if (!Array.isArray(args) || args.some((a) => typeof a !== "string")) throw new LadingError("INVALID_ARGUMENT", "withExec needs an array of strings");
    const expect = opts.expect ?? "SUCCESS";
    // An empty list would accept no exit code at all: surely a mistake, refused like the rest.
    if (!(Array.isArray(expect) ? expect.length > 0 && expect.every((c) => Number.isInteger(c) && c >= 0 && c <= 255) : ["SUCCESS", "FAILURE", "ANY"].includes(expect))) {
      throw new LadingError("INVALID_ARGUMENT", `invalid expect ${JSON.stringify(expect)}: use "SUCCESS", "FAILURE", "ANY" or a non-empty list of exit codes 0–255`);
    }
    let c = this.with(
      {
        type: "exec",
        exec: {
          args: [...args],
          expect,
          stdin: opts.stdin,
          useEntrypoint: opts.useEntrypoint ?? false,
          insecureRootCapabilities: opts.insecureRootCapabilities ?? false,
          noInit: opts.noInit ?? false,
          network: opts.network ?? "host",
          cacheBuster: opts.noCache ? `${Date.now()}-${Math.random()}` : undefined,
        },
      },
      opts.description,
    );
    if (opts.redirectStdout) c = c.withFileFromOutput(opts.redirectStdout, "stdout");
    if (opts.redirectStderr) c = c.withFileFromOutput(opts.redirectStderr, "stderr");
    return c;
  }

  private withFileFromOutput(path: string, stream: "stdout" | "stderr"): Container {
    return this.with({ type: "execOutput", path, stream });
  }

  /**
   * The exit code of the last `withExec`. Runs everything up to here.
   * @throws LadingError `INVALID_ARGUMENT` when there was no `withExec`.
   * @example const code = await c.withExec(["false"], { expect: "ANY" }).exitCode(); // 1
   */
  async exitCode(): Promise<number> {
    return (await this.lastExec()).exitCode;
  }
  /**
   * The standard output of the last `withExec` (the last 4 MiB when longer), secret values replaced by `***`. Runs everything up to here.
   * @throws LadingError `INVALID_ARGUMENT` when there was no `withExec`.
   * @example const version = await c.withExec(["cat", "/etc/alpine-release"]).stdout();
   */
  async stdout(): Promise<string> {
    return (await this.lastExec()).stdout;
  }
  /**
   * The standard error of the last `withExec` (the last 4 MiB when longer), secret values replaced by `***`. Runs everything up to here.
   * @throws LadingError `INVALID_ARGUMENT` when there was no `withExec`.
   * @example const warnings = await c.withExec(["make"]).stderr();
   */
  async stderr(): Promise<string> {
    return (await this.lastExec()).stderr;
  }
  /**
   * CPU figures of the last `withExec`: user and system seconds, and the
   * time spent waiting for CPU (PSI) where the kernel has it. Cached with the step.
   * @throws LadingError `INVALID_ARGUMENT` when there was no `withExec`.
   * @example const { cpuUserSeconds } = await c.execMetrics();
   */
  async execMetrics(): Promise<Record<string, unknown>> {
    return (await this.lastExec()).metrics ?? {};
  }
  private async lastExec() {
    const s = await this.state();
    if (!s.lastExec) throw new LadingError("INVALID_ARGUMENT", "no command has been set: call withExec first");
    return s.lastExec;
  }

  /**
   * Sets an environment variable in the image config (ENV). The value is taken as is (no `$VAR` expansion).
   * @param name The variable's name (no `=`).
   * @param value Its value.
   * @param opts See {@link ContainerWithEnvVariableOpts}.
   * @throws LadingError `INVALID_ARGUMENT` at once for an empty name or one with `=`.
   * @example c.withEnvVariable("PATH", "/app/bin:/usr/bin")
   */
  withEnvVariable(name: string, value: string, opts: ContainerWithEnvVariableOpts = {}): Container {
    if (!name || name.includes("=")) throw new LadingError("INVALID_ARGUMENT", `invalid environment variable name "${name}"`);
    return this.config({ field: "env", name, value: String(value) }, opts.description);
  }
  /**
   * Removes an environment variable from the image config (nothing happens when it is not set).
   * @param name The variable's name.
   * @example c.withoutEnvVariable("DEBUG")
   */
  withoutEnvVariable(name: string): Container {
    return this.config({ field: "env", name });
  }
  /**
   * Sets the working directory (WORKDIR) of later commands and of the image.
   * @param path Absolute, or relative to the current working directory.
   * @param opts See {@link ContainerWithWorkdirOpts}.
   * @example c.withWorkdir("/app").withExec(["npm", "ci"])
   */
  withWorkdir(path: string, opts: ContainerWithWorkdirOpts = {}): Container {
    return this.config({ field: "workdir", path }, opts.description);
  }
  /**
   * Sets the user later commands and the image run as (USER).
   * @param user "name", "uid", "name:group" or "uid:gid"; names are resolved through the image's /etc/passwd and /etc/group when a command runs.
   * @param opts See {@link ContainerWithUserOpts}.
   * @example c.withUser("1000:1000")
   */
  withUser(user: string, opts: ContainerWithUserOpts = {}): Container {
    return this.config({ field: "user", user }, opts.description);
  }
  /**
   * Sets the image's entrypoint (ENTRYPOINT); clears the default args unless `keepDefaultArgs`.
   * It applies to `withExec` only with `useEntrypoint: true`.
   * @param args The entrypoint and its arguments.
   * @param opts See {@link ContainerWithEntrypointOpts}.
   * @example c.withEntrypoint(["/app/server"], { keepDefaultArgs: true })
   */
  withEntrypoint(args: string[], opts: ContainerWithEntrypointOpts = {}): Container {
    return this.config({ field: "entrypoint", args: [...args], keepDefaultArgs: opts.keepDefaultArgs ?? false }, opts.description);
  }
  /**
   * Removes the image's entrypoint; clears the default args unless `keepDefaultArgs`.
   * @param opts See {@link ContainerWithoutEntrypointOpts}.
   * @example c.withoutEntrypoint({ keepDefaultArgs: true })
   */
  withoutEntrypoint(opts: ContainerWithoutEntrypointOpts = {}): Container {
    return this.config({ field: "entrypoint", args: null, keepDefaultArgs: opts.keepDefaultArgs ?? false });
  }
  /**
   * Sets the image's default arguments (CMD).
   * @param args The default command, or the arguments to the entrypoint.
   * @param opts See {@link ContainerWithDefaultArgsOpts}.
   * @example c.withDefaultArgs(["--port", "8080"])
   */
  withDefaultArgs(args: string[], opts: ContainerWithDefaultArgsOpts = {}): Container {
    return this.config({ field: "cmd", args: [...args] }, opts.description);
  }
  /**
   * Removes the image's default arguments (CMD).
   * @example c.withoutDefaultArgs()
   */
  withoutDefaultArgs(): Container {
    return this.config({ field: "cmd", args: null });
  }
  /**
   * Sets a label in the image config (LABEL). For a label on the manifest, see `withAnnotation`.
   * @param name The label's name.
   * @param value Its value.
   * @param opts See {@link ContainerWithLabelOpts}.
   * @example c.withLabel("org.opencontainers.image.version", "1.0.0")
   */
  withLabel(name: string, value: string, opts: ContainerWithLabelOpts = {}): Container {
    return this.config({ field: "label", name, value: String(value) }, opts.description);
  }
  /**
   * Removes a label from the image config.
   * @param name The label's name.
   * @example c.withoutLabel("maintainer")
   */
  withoutLabel(name: string): Container {
    return this.config({ field: "label", name });
  }
  /**
   * Sets an annotation on the image manifest (and on its index.json descriptor on export).
   * @param name The annotation's key.
   * @param value Its value.
   * @throws LadingError `INVALID_ARGUMENT` at once for an empty name.
   * @example c.withAnnotation("org.opencontainers.image.source", "https://example.com/repo")
   */
  withAnnotation(name: string, value: string): Container {
    if (!name) throw new LadingError("INVALID_ARGUMENT", "annotation name must not be empty");
    return this.with({ type: "annotation", name, value: String(value) });
  }
  /**
   * Removes an annotation from the image manifest.
   * @param name The annotation's key.
   * @example c.withoutAnnotation("org.opencontainers.image.created")
   */
  withoutAnnotation(name: string): Container {
    return this.with({ type: "annotation", name });
  }
  /**
   * Declares a port the image listens on (EXPOSE). Metadata only: nothing is published.
   * @param port 1–65535.
   * @param opts See {@link ContainerWithExposedPortOpts}.
   * @throws LadingError `INVALID_ARGUMENT` at once for a port outside 1–65535.
   * @example c.withExposedPort(8080)
   */
  withExposedPort(port: number, opts: ContainerWithExposedPortOpts = {}): Container {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new LadingError("INVALID_ARGUMENT", `invalid port ${port}: expected 1–65535`);
    return this.config({ field: "expose", port: `${port}/${(opts.protocol ?? "TCP").toLowerCase()}` }, opts.description);
  }
  /**
   * Removes an exposed port from the image config.
   * @param port The port number.
   * @param opts See {@link ContainerWithoutExposedPortOpts}.
   * @example c.withoutExposedPort(53, { protocol: "UDP" })
   */
  withoutExposedPort(port: number, opts: ContainerWithoutExposedPortOpts = {}): Container {
    return this.config({ field: "expose", port: `${port}/${(opts.protocol ?? "TCP").toLowerCase()}`, remove: true });
  }
  /**
   * Adds a VOLUME entry to the image config (metadata only; for a mount while commands run, see `withMountedCache`).
   * @param path Absolute path in the container.
   * @param opts See {@link ContainerWithVolumeOpts}.
   * @example c.withVolume("/var/lib/data")
   */
  withVolume(path: string, opts: ContainerWithVolumeOpts = {}): Container {
    return this.config({ field: "volume", path }, opts.description);
  }
  /**
   * Sets the signal that stops the image's process (STOPSIGNAL).
   * @param signal A name such as "SIGTERM", or a number as a string.
   * @param opts See {@link ContainerWithStopSignalOpts}.
   * @example c.withStopSignal("SIGQUIT")
   */
  withStopSignal(signal: string, opts: ContainerWithStopSignalOpts = {}): Container {
    return this.config({ field: "stopSignal", signal }, opts.description);
  }
  /**
   * Sets the image's health check (HEALTHCHECK); `null` disables one inherited from the base image.
   * @param healthcheck Docker's `Healthcheck` config (`Test`, `Interval`, … in nanoseconds), or null.
   * @param opts See {@link ContainerWithHealthcheckOpts}.
   * @example c.withHealthcheck({ Test: ["CMD", "/app/health"], Interval: 30e9 })
   */
  withHealthcheck(healthcheck: HealthConfig | null, opts: ContainerWithHealthcheckOpts = {}): Container {
    return this.config({ field: "healthcheck", healthcheck }, opts.description);
  }
  /**
   * Sets the shell used for shell-form commands (SHELL; a docker extension of the config).
   * @param args The shell and its arguments.
   * @param opts See {@link ContainerWithShellOpts}.
   * @example c.withShell(["/bin/bash", "-o", "pipefail", "-c"])
   */
  withShell(args: string[], opts: ContainerWithShellOpts = {}): Container {
    return this.config({ field: "shell", args: [...args] }, opts.description);
  }
  /**
   * The image config's `author` (what docker's MAINTAINER sets). The OCI
   * annotation and label org.opencontainers.image.authors are the current way.
   * @param author Free text, such as "Jane Doe <jane@example.com>".
   * @param opts See {@link ContainerWithAuthorOpts}.
   * @example c.withAuthor("Jane Doe <jane@example.com>")
   */
  withAuthor(author: string, opts: ContainerWithAuthorOpts = {}): Container {
    return this.config({ field: "author", author: String(author) }, opts.description);
  }
  /**
   * Records an ONBUILD trigger in the image config (run by docker builds that start from this image; lading never runs it).
   * @param trigger A Containerfile instruction, such as "RUN make".
   * @param opts See {@link ContainerWithOnBuildOpts}.
   * @example c.withOnBuild("COPY . /app")
   */
  withOnBuild(trigger: string, opts: ContainerWithOnBuildOpts = {}): Container {
    return this.config({ field: "onBuild", trigger }, opts.description);
  }

  /**
   * Writes a new file, as one new layer (no root filesystem, no runtime).
   * @param path Path in the container (relative to the working directory); links of the image on the way are followed inside it.
   * @param contents The file's text (UTF-8).
   * @param opts See {@link ContainerWithNewFileOpts}.
   * @example c.withNewFile("/etc/motd", "hello\n", { permissions: 0o644 })
   */
  withNewFile(path: string, contents: string, opts: ContainerWithNewFileOpts = {}): Container {
    return this.with({ type: "newFile", path, contents, permissions: opts.permissions ?? 0o644, owner: opts.owner }, opts.description);
  }
  /**
   * Copies a file into the container, as one new layer.
   * @param path Destination path in the container; links of the image on the way are followed inside it.
   * @param file The file (from the host, a directory or another container).
   * @param opts See {@link ContainerWithFileOpts}.
   * @example c.withFile("/app/config.json", client.host().file("./config.json"))
   */
  withFile(path: string, file: File, opts: ContainerWithFileOpts = {}): Container {
    return this.with({ type: "file", path, file: file.node, permissions: opts.permissions, owner: opts.owner }, opts.description);
  }
  /**
   * Copies a directory's contents into the container at `path`, as one new layer (COPY).
   * @param path Destination directory in the container (created if missing); links of the image on the way, and a link at `path` itself, are followed inside it.
   * @param dir The directory whose contents are copied.
   * @param opts See {@link ContainerWithDirectoryOpts}.
   * @example c.withDirectory("/app", client.host().directory("."), { exclude: ["node_modules"] })
   */
  withDirectory(path: string, dir: Directory, opts: ContainerWithDirectoryOpts = {}): Container {
    return this.with({ type: "directory", path, dir: dir.node, exclude: opts.exclude ?? [], include: opts.include ?? [], owner: opts.owner, permissions: opts.permissions }, opts.description);
  }
  /**
   * Removes a file: a whiteout in a new layer (the bytes stay in the lower layer).
   * @param path Path in the container.
   * @example c.withoutFile("/root/.npmrc")
   */
  withoutFile(path: string): Container {
    return this.with({ type: "remove", path, what: "file" });
  }
  /**
   * Removes a directory and everything below it (a whiteout in a new layer).
   * @param path Path in the container.
   * @example c.withoutDirectory("/var/cache/apt")
   */
  withoutDirectory(path: string): Container {
    return this.with({ type: "remove", path, what: "directory" });
  }
  /**
   * Replaces the whole filesystem with `dir`, as one layer (the base image's layers are dropped; its config stays).
   * @param dir The new root filesystem.
   * @example client.container().withRootfs(client.host().directory("./rootfs"))
   */
  withRootfs(dir: Directory): Container {
    return this.with({ type: "rootfs", dir: dir.node });
  }

  private mount(target: string, mount: MountSpec): Container {
    return this.with({ type: "mount", target, mount });
  }
  /**
   * Mounts a persistent cache volume at `path` while later commands run. Its contents live in the store, never in the image.
   * @param path Mount point (relative to the working directory).
   * @param cache The volume, from `client.cacheVolume(name)`.
   * @param opts See {@link ContainerWithMountedCacheOpts}.
   * @throws LadingError `INVALID_ARGUMENT` at once for a `sharing` outside {@link CacheSharingMode}.
   * @example c.withMountedCache("/root/.npm", client.cacheVolume("npm"), { sharing: CacheSharingMode.Locked })
   */
  withMountedCache(path: string, cache: CacheVolume, opts: ContainerWithMountedCacheOpts = {}): Container {
    return this.mount(path, { type: "cache", volume: cache.key, sharing: checkedSharing(opts.sharing), source: opts.source?.node, owner: opts.owner, ...(opts.userOwned ? { userOwned: true } : {}) });
  }
  /**
   * Mounts a directory at `path` while later commands run (a copy: the
   * source is never changed, and nothing written there enters the image).
   * Its contents are part of later commands' cache keys.
   * @param path Mount point (relative to the working directory).
   * @param dir The directory to mount.
   * @param opts See {@link ContainerWithMountedDirectoryOpts}.
   * @example c.withMountedDirectory("/src", client.host().directory("."), { readOnly: true })
   */
  withMountedDirectory(path: string, dir: Directory, opts: ContainerWithMountedDirectoryOpts = {}): Container {
    return this.mount(path, { type: "directory", dir: dir.node, owner: opts.owner, readOnly: opts.readOnly, ...(opts.userOwned ? { userOwned: true } : {}) });
  }
  /**
   * Mounts a file at `path` while later commands run (a copy; nothing written to it enters the image).
   * @param path Mount point (relative to the working directory).
   * @param file The file to mount.
   * @param opts See {@link ContainerWithMountedFileOpts}.
   * @example c.withMountedFile("/etc/pip.conf", client.host().file("./pip.conf"))
   */
  withMountedFile(path: string, file: File, opts: ContainerWithMountedFileOpts = {}): Container {
    return this.mount(path, { type: "file", file: file.node, owner: opts.owner, ...(opts.userOwned ? { userOwned: true } : {}) });
  }
  /**
   * Mounts an empty tmpfs at `path` while later commands run.
   * @param path Mount point (relative to the working directory).
   * @param opts See {@link ContainerWithMountedTempOpts}.
   * @example c.withMountedTemp("/tmp")
   */
  withMountedTemp(path: string, opts: ContainerWithMountedTempOpts = {}): Container {
    return this.mount(path, opts.copyUp ? { type: "temp", copyUp: true } : { type: "temp" });
  }
  /**
   * Mounts a secret as a read-only file at `path` while later commands run.
   * Only its name enters the cache key; its value never enters a layer, a log or an error.
   * @param path Mount point (relative to the working directory).
   * @param secret The secret, from `client.setSecret` and friends.
   * @param opts See {@link ContainerWithMountedSecretOpts}.
   * @example c.withMountedSecret("/run/secrets/token", client.setSecret("token", process.env.TOKEN!))
   */
  withMountedSecret(path: string, secret: Secret, opts: ContainerWithMountedSecretOpts = {}): Container {
    return this.mount(path, { type: "secret", secret: secret.ref, mode: opts.mode ?? 0o400, owner: opts.owner });
  }
  /**
   * Removes a mount (cache, directory, file, temp or secret) set earlier at `path`.
   * @param path The mount point as given when mounting.
   * @example c.withoutMount("/root/.npm")
   */
  withoutMount(path: string): Container {
    return this.with({ type: "unmount", target: path });
  }
  /**
   * Sets an environment variable whose value is a secret: present while later
   * commands run, never in the image config, a layer, the cache key or a log.
   * @param name The variable's name.
   * @param secret The secret.
   * @example c.withSecretVariable("NPM_TOKEN", client.secretFromEnv("npm", "NPM_TOKEN"))
   */
  withSecretVariable(name: string, secret: Secret): Container {
    return this.with({ type: "secretEnv", name, secret: secret.ref });
  }
  /**
   * Removes a secret variable set with `withSecretVariable`.
   * @param name The variable's name.
   * @example c.withoutSecretVariable("NPM_TOKEN")
   */
  withoutSecretVariable(name: string): Container {
    return this.with({ type: "secretEnv", name });
  }
  /**
   * Credentials for a registry, used by this chain's `from` and `publish`
   * and by every container built on this one; a sibling made from the same
   * parent never sees them, and they are part of neither the image nor any
   * cache key (as in Dagger).
   * @param address A registry host or any reference on it (`ghcr.io/org/app`: only `ghcr.io` counts).
   * @param username The user name.
   * @param secret The password or token.
   * @throws LadingError `NOT_FOUND` at once when the secret has no value in this session.
   * @example client.container().withRegistryAuth("ghcr.io", "me", client.setSecret("ghcr", process.env.GHCR_TOKEN!)).from("ghcr.io/me/base:1")
   */
  withRegistryAuth(address: string, username: string, secret: Secret): Container {
    if (!this.ctx.session.secrets.has(secret.ref.name)) throw new LadingError("NOT_FOUND", `secret "${secret.ref.name}" has no value`);
    return this.with({ type: "registryAuth", registry: registryHost(address), username, secret: secret.ref });
  }
  /**
   * Drops this chain's credentials for a registry (set by `withRegistryAuth`);
   * credentials from files such as ~/.docker/config.json still apply.
   * @param address A registry host or any reference on it.
   * @example authed.withoutRegistryAuth("ghcr.io").publish("ghcr.io/me/app:1") // as anonymous, or the docker config's login
   */
  withoutRegistryAuth(address: string): Container {
    return this.with({ type: "registryAuth", registry: registryHost(address) });
  }

  /**
   * This container's command as a service that keeps running (see {@link Service}).
   * Without `args`, a last `withExec` is the service's command (and runs only
   * as the service, never as a build step); else the image's entrypoint and default args.
   * @param opts See {@link ContainerAsServiceOpts}.
   * @returns A lazy Service: nothing starts until it is used.
   * @throws LadingError `INVALID_ARGUMENT` at once for non-string args or a bad timeout.
   * @example const web = c.withExposedPort(8080).withExec(["httpd", "-f", "-p", "8080"]).asService();
   */
  asService(opts: ContainerAsServiceOpts = {}): Service {
    if (opts.args !== undefined && (!Array.isArray(opts.args) || opts.args.some((a) => typeof a !== "string"))) throw new LadingError("INVALID_ARGUMENT", "asService args must be an array of strings");
    if (opts.timeout !== undefined && !(typeof opts.timeout === "number" && opts.timeout > 0)) throw new LadingError("INVALID_ARGUMENT", `invalid service timeout ${String(opts.timeout)}: a number of seconds above 0`);
    const timeout = opts.timeout !== undefined ? { timeoutSeconds: opts.timeout } : {};
    const op = this.node.op;
    if (!opts.args && op.type === "exec" && this.node.parent) {
      const e = op.exec;
      return new Service(this.ctx, { type: "container", container: this.node.parent, args: [...e.args], useEntrypoint: opts.useEntrypoint ?? e.useEntrypoint, noInit: e.noInit, insecureRootCapabilities: e.insecureRootCapabilities, ...timeout });
    }
    return new Service(this.ctx, { type: "container", container: this.node, args: [...(opts.args ?? [])], useEntrypoint: opts.useEntrypoint ?? false, noInit: false, insecureRootCapabilities: false, ...timeout });
  }

  /**
   * Makes `service` reachable as `alias` from this container's later execs
   * (only theirs: the alias is in their /etc/hosts). An exec that runs
   * starts the service first and waits until it is healthy; its result is
   * cached by the service's definition, not by what the service answered.
   * @param alias The hostname the execs use.
   * @param service The service (a container's, or a host's).
   * @throws LadingError `INVALID_ARGUMENT` at once for an alias that is no hostname.
   * @example c.withServiceBinding("db", postgres).withExec(["psql", "-h", "db", "-c", "select 1"])
   */
  withServiceBinding(alias: string, service: Service): Container {
    return this.with({ type: "serviceBinding", alias: checkHostname(alias), service: service.spec });
  }

  /**
   * The directory at `path` in the container (lazy; read from its layers when needed).
   * @param path Absolute, or relative to the working directory.
   * @returns A Directory; awaiting one of its results fails with `NOT_FOUND` when `path` is no directory.
   * @example const names = await c.directory("/etc").entries();
   */
  directory(path: string): Directory {
    return new Directory(this.ctx, directoryNode(undefined, { type: "containerPath", container: this.node, path }));
  }
  /**
   * The file at `path` in the container (lazy; read from its layers when needed).
   * @param path Absolute, or relative to the working directory.
   * @returns A File; awaiting one of its results fails with `NOT_FOUND` when `path` is no file.
   * @example const release = await c.file("/etc/os-release").contents();
   */
  file(path: string): File {
    return new File(this.ctx, fileNode({ type: "containerPath", container: this.node, path }));
  }
  /**
   * The whole filesystem as a directory (lazy).
   * @example await c.rootfs().export("./rootfs");
   */
  rootfs(): Directory {
    return this.directory("/");
  }

  /**
   * The value of an environment variable in the image config, or null when unset.
   * @param name The variable's name.
   * @example const path = await c.envVariable("PATH");
   */
  async envVariable(name: string): Promise<string | null> {
    return envValue((await this.state()).config, name);
  }
  /**
   * Every environment variable of the image config, in order.
   * @example for (const { name, value } of await c.envVariables()) console.log(name, value);
   */
  async envVariables(): Promise<Array<{ name: string; value: string }>> {
    return ((await this.state()).config.Env ?? []).map((e) => ({ name: e.slice(0, e.indexOf("=")), value: e.slice(e.indexOf("=") + 1) }));
  }
  /**
   * The working directory of the image config ("" when unset).
   * @example const wd = await c.workdir();
   */
  async workdir(): Promise<string> {
    return (await this.state()).config.WorkingDir ?? "";
  }
  /**
   * The user of the image config ("" when unset, which means root).
   * @example const user = await c.user();
   */
  async user(): Promise<string> {
    return (await this.state()).config.User ?? "";
  }
  /**
   * The image's entrypoint, or null when it has none.
   * @example const ep = await c.entrypoint();
   */
  async entrypoint(): Promise<string[] | null> {
    return (await this.state()).config.Entrypoint ?? null;
  }
  /**
   * The image's default arguments (CMD), or null when it has none.
   * @example const cmd = await c.defaultArgs();
   */
  async defaultArgs(): Promise<string[] | null> {
    return (await this.state()).config.Cmd ?? null;
  }
  /**
   * A label of the image config, or null when unset.
   * @param name The label's name.
   * @example const v = await c.label("org.opencontainers.image.version");
   */
  async label(name: string): Promise<string | null> {
    return (await this.state()).config.Labels?.[name] ?? null;
  }
  /**
   * A manifest annotation set on this container (or taken from its base image), or null.
   * @param name The annotation's key.
   * @example const src = await c.annotation("org.opencontainers.image.source");
   */
  async annotation(name: string): Promise<string | null> {
    return (await this.state()).annotations[name] ?? null;
  }
  /**
   * The exposed ports as "port/protocol" ("8080/tcp").
   * @example const ports = await c.exposedPorts();
   */
  async exposedPorts(): Promise<string[]> {
    return Object.keys((await this.state()).config.ExposedPorts ?? {});
  }
  /**
   * The platform as "os/arch[/variant]".
   * @example const p = await c.platform(); // "linux/amd64"
   */
  async platform(): Promise<string> {
    return formatPlatform((await this.state()).platform);
  }
  /**
   * The image config's `config` object as it would be written (a copy).
   * @example const { Env, Entrypoint } = await c.imageConfig();
   */
  async imageConfig(): Promise<RuntimeConfig> {
    return structuredClone((await this.state()).config);
  }
  /**
   * The number of layers (a step that changed nothing adds none).
   * @example const n = await c.layerCount();
   */
  async layerCount(): Promise<number> {
    return (await this.state()).layers.length;
  }

  /**
   * Evaluates everything up to here (pulling, running commands, writing layers) and returns this container.
   * @throws The first step's error: an `ExecError` for a command outside its `expect`, a `LadingError` otherwise.
   * @example await c.withExec(["make", "test"]).sync();
   */
  async sync(): Promise<Container> {
    await this.state();
    return this;
  }

  /**
   * The image manifest digest (`sha256:…`), computed as `export` or `publish` would write it, without writing or pushing.
   * @param opts See {@link ContainerDigestOpts}; a different format gives a different digest. With
   *   `platformVariants` (other platforms' builds), the digest of the image index over all of them.
   * @example const d = await c.digest();
   */
  async digest(opts: ContainerDigestOpts & { platformVariants?: Container[] } = {}): Promise<string> {
    const { finalizeRoot } = await import("../engine/export.js");
    return (await finalizeRoot(this.ctx.evaluator, this.node, { ...imageFormat(opts), platformVariants: opts.platformVariants?.map((c) => c.node) })).digest;
  }

  /**
   * Writes the image as an OCI layout tarball (with a docker `manifest.json`,
   * so `docker load` takes it) at `path`, atomically.
   * @param path The tarball's path on the host (replaced if present).
   * @param opts See {@link ContainerExportOpts}.
   * @returns The absolute path written.
   * @example await c.export("./img.tar", { tag: "myapp:1.0" })
   */
  async export(path: string, opts: ContainerExportOpts = {}): Promise<string> {
    const { exportContainer } = await import("../engine/export.js");
    const { resolve } = await import("node:path");
    await exportContainer(this.ctx.evaluator, this.node, path, { ...imageFormat(opts), tag: opts.tag, platformVariants: opts.platformVariants?.map((c) => c.node) });
    return resolve(path);
  }

  /**
   * Writes the image into an OCI image layout folder (created if missing; other images there stay),
   * named `tag` there, or by its digest without one.
   * @param dir The layout folder.
   * @param opts See {@link ContainerExportLayoutOpts}.
   * @returns The digest of the manifest (or index, with platform variants) written.
   * @example await c.exportLayout("./layout", { tag: "latest" })
   */
  async exportLayout(dir: string, opts: ContainerExportLayoutOpts = {}): Promise<string> {
    const { exportLayout } = await import("../engine/export.js");
    const root = await exportLayout(this.ctx.evaluator, this.node, dir, { ...imageFormat(opts), tag: opts.tag, platformVariants: opts.platformVariants?.map((c) => c.node) });
    return root.digest;
  }

  /**
   * The image as an OCI tarball File (lazy: written when the File is read or exported).
   * @param opts See {@link ContainerAsTarballOpts}.
   * @example await c.asTarball().export("./img.tar");
   */
  asTarball(opts: ContainerAsTarballOpts = {}): File {
    return new File(this.ctx, fileNode({ type: "tarball", container: this.node, ...imageFormat(opts), platformVariants: opts.platformVariants?.map((c) => c.node) }));
  }

  /**
   * Pushes the image (and, with platform variants, an index) to a registry.
   * Blobs the registry has already are not sent again.
   * @param address A registry reference with a tag (`registry.example.com/app:1.0`).
   * @param opts See {@link ContainerPublishOpts}.
   * @returns `address@sha256:…`, the reference pinned to what was pushed.
   * @throws LadingError `REGISTRY`, `AUTH` or `NETWORK` when the push fails.
   * @example const ref = await c.publish("127.0.0.1:5000/app:1.0")
   */
  async publish(address: string, opts: ContainerPublishOpts = {}): Promise<string> {
    const { publishContainer } = await import("../engine/publish.js");
    return publishContainer(this.ctx.evaluator, this.node, address, { ...imageFormat(opts), platformVariants: opts.platformVariants?.map((c) => c.node) });
  }

  /**
   * Names the image in the store (like `docker tag`), so a later `from(name)` uses it without any lookup.
   * @param name The name, such as "myapp:dev".
   * @param opts See {@link ContainerTagOpts}.
   * @returns The manifest digest (or, with platform variants, index digest) the name now points to.
   * @example await c.tag("myapp:dev"); const again = client.container().from("myapp:dev");
   */
  async tag(name: string, opts: ContainerTagOpts = {}): Promise<string> {
    const { finalizeComplete } = await import("../engine/export.js");
    const { storeName } = await import("../engine/names.js");
    const root = await finalizeComplete(this.ctx.evaluator, this.node, { platformVariants: opts.platformVariants?.map((c) => c.node) });
    await this.ctx.session.store.tag(storeName(name), root);
    return root.digest;
  }

  /**
   * Pushes the build cache of this image to a registry (evaluating it first):
   * the results of its steps, by the cache keys the store uses, with their
   * layers, as one OCI artifact. Another machine whose client imports it
   * (`connect({ cacheFrom })`, `client.importCache`) takes those steps
   * instead of running them. Secret values are never in it.
   * @param address A registry reference with a tag (`registry.example.com/app:buildcache`).
   * @param opts See {@link ContainerExportCacheOpts}.
   * @returns `address@sha256:…`, the cache artifact pushed.
   * @throws LadingError `REGISTRY`, `AUTH` or `NETWORK` when the push fails; `INVALID_ARGUMENT` for a bad reference or mode.
   * @example await image.exportCache("registry.example.com/app:buildcache", { mode: "max" })
   */
  async exportCache(address: string, opts: ContainerExportCacheOpts = {}): Promise<string> {
    for (const k of Object.keys(opts)) if (k !== "mode" && k !== "platformVariants") throw new LadingError("INVALID_ARGUMENT", `unsupported exportCache option "${k}"`);
    const { exportCache } = await import("../engine/registry-cache/export.js");
    return exportCache(this.ctx.evaluator, this.node, address, opts.mode ?? "min", opts.platformVariants?.map((c) => c.node));
  }
}

/** An image format option in the engine's terms; an unknown or unsupported value fails at the call (before any work). */
function imageFormat(opts: ImageFormatOpts): { mediaTypes?: "OCI" | "Docker"; forcedCompression?: "Gzip" | "Zstd" | "Uncompressed" } {
  return { mediaTypes: mediaTypesFlavour(opts.mediaTypes), forcedCompression: supportedCompression(opts.forcedCompression, "forcedCompression") };
}

/** The registry host of an address ("ghcr.io/me/app:1" → "ghcr.io"; a bare host stays as it is). */
function registryHost(address: string): string {
  return address.split("/")[0]!;
}
