import { LadingError } from "../errors.js";
import { containerNode, directoryNode, fileNode, type ConfigEdit, type ContainerNode, type ContainerOp, type MountSpec } from "../engine/ops.js";
import { envValue, formatPlatform } from "../engine/image-state.js";
import type { ApiContext } from "./context.js";
import { Directory } from "./directory.js";
import { File } from "./file.js";
import type { CacheVolume, Secret } from "./secret.js";
import type {
  ContainerWithDirectoryOpts,
  ContainerWithEntrypointOpts,
  ContainerWithExecOpts,
  ContainerWithExposedPortOpts,
  ContainerWithFileOpts,
  ContainerWithMountedCacheOpts,
  ContainerWithMountedSecretOpts,
  ContainerWithNewFileOpts,
  ImageLayerCompression,
  ImageMediaTypes,
} from "./options.js";
import type { HealthConfig } from "../oci/types.js";

// The output options name Container itself, so they live beside it (options.ts must not import this file).
export interface ContainerExportOpts {
  mediaTypes?: ImageMediaTypes;
  forcedCompression?: ImageLayerCompression;
  /** Other platforms' builds of this image: with them, an image index is written. */
  platformVariants?: Container[];
  /** Name written as org.opencontainers.image.ref.name (and docker's RepoTags). */
  tag?: string;
}

export interface ContainerPublishOpts {
  mediaTypes?: ImageMediaTypes;
  forcedCompression?: ImageLayerCompression;
  platformVariants?: Container[];
}

export interface ContainerAsTarballOpts {
  mediaTypes?: ImageMediaTypes;
  forcedCompression?: ImageLayerCompression;
  platformVariants?: Container[];
}

/**
 * An OCI container image and the commands run on it: lazy and immutable.
 * Every `with…`/`without…` returns a new Container that records one more
 * step; nothing runs until an awaited method (`export`, `publish`,
 * `digest`, `stdout`, `sync`, …) asks for a result.
 *
 * @example
 * const out = await client.container().from("oci:./busybox:latest")
 *   .withExec(["sh", "-c", "echo hello"]).stdout();
 */
export class Container {
  /** @internal */
  readonly ctx: ApiContext;
  /** @internal */
  readonly node: ContainerNode;
  /** @internal */
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
   * Starts from an image: `scratch`, a name in the store, `oci:DIR[:TAG]`,
   * `oci-archive:FILE[:TAG]`, or a registry reference (`alpine:3.20`,
   * `127.0.0.1:5000/app@sha256:…`). Digest-pinned images already in the store are used without any request.
   * @example client.container().from("oci-archive:./base.tar:latest")
   */
  from(address: string, opts: { description?: string } = {}): Container {
    if (typeof address !== "string" || !address) throw new LadingError("INVALID_ARGUMENT", "from() needs an image address");
    return this.with({ type: "from", address }, opts.description);
  }

  /**
   * Starts from an image in a tarball (OCI archive or docker save).
   * @example client.container().import(client.host().file("./img.tar"))
   */
  import(file: File, opts: { tag?: string } = {}): Container {
    return this.with({ type: "import", file: file.node, tag: opts.tag });
  }

  /**
   * Runs a command; its file changes become one new layer.
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

  /** The exit code of the last withExec. Throws when there was none. */
  async exitCode(): Promise<number> {
    return (await this.lastExec()).exitCode;
  }
  /** The standard output of the last withExec. */
  async stdout(): Promise<string> {
    return (await this.lastExec()).stdout;
  }
  /** The standard error of the last withExec. */
  async stderr(): Promise<string> {
    return (await this.lastExec()).stderr;
  }
  /** CPU figures of the last withExec (user/system seconds, PSI pressure where the kernel has it). */
  async execMetrics(): Promise<Record<string, unknown>> {
    return (await this.lastExec()).metrics ?? {};
  }
  private async lastExec() {
    const s = await this.state();
    if (!s.lastExec) throw new LadingError("INVALID_ARGUMENT", "no command has been set: call withExec first");
    return s.lastExec;
  }

  /** Sets an environment variable. @example c.withEnvVariable("PATH", "/app/bin:/usr/bin") */
  withEnvVariable(name: string, value: string, opts: { description?: string } = {}): Container {
    if (!name || name.includes("=")) throw new LadingError("INVALID_ARGUMENT", `invalid environment variable name "${name}"`);
    return this.config({ field: "env", name, value: String(value) }, opts.description);
  }
  withoutEnvVariable(name: string): Container {
    return this.config({ field: "env", name });
  }
  /** Working directory (relative paths resolve against the current one). */
  withWorkdir(path: string, opts: { description?: string } = {}): Container {
    return this.config({ field: "workdir", path }, opts.description);
  }
  /** The user commands run as: "name", "uid", "name:group", "uid:gid". */
  withUser(user: string, opts: { description?: string } = {}): Container {
    return this.config({ field: "user", user }, opts.description);
  }
  /** @example c.withEntrypoint(["/app/server"], { keepDefaultArgs: true }) */
  withEntrypoint(args: string[], opts: ContainerWithEntrypointOpts & { description?: string } = {}): Container {
    return this.config({ field: "entrypoint", args: [...args], keepDefaultArgs: opts.keepDefaultArgs ?? false }, opts.description);
  }
  withoutEntrypoint(opts: ContainerWithEntrypointOpts = {}): Container {
    return this.config({ field: "entrypoint", args: null, keepDefaultArgs: opts.keepDefaultArgs ?? false });
  }
  /** Default arguments (CMD). */
  withDefaultArgs(args: string[], opts: { description?: string } = {}): Container {
    return this.config({ field: "cmd", args: [...args] }, opts.description);
  }
  withoutDefaultArgs(): Container {
    return this.config({ field: "cmd", args: null });
  }
  withLabel(name: string, value: string, opts: { description?: string } = {}): Container {
    return this.config({ field: "label", name, value: String(value) }, opts.description);
  }
  withoutLabel(name: string): Container {
    return this.config({ field: "label", name });
  }
  /**
   * An annotation on the image manifest (and its index.json descriptor on export).
   * @example c.withAnnotation("org.opencontainers.image.source", "https://example.com/repo")
   */
  withAnnotation(name: string, value: string): Container {
    if (!name) throw new LadingError("INVALID_ARGUMENT", "annotation name must not be empty");
    return this.with({ type: "annotation", name, value: String(value) });
  }
  withoutAnnotation(name: string): Container {
    return this.with({ type: "annotation", name });
  }
  /** @example c.withExposedPort(8080) */
  withExposedPort(port: number, opts: ContainerWithExposedPortOpts = {}): Container {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new LadingError("INVALID_ARGUMENT", `invalid port ${port}: expected 1–65535`);
    return this.config({ field: "expose", port: `${port}/${(opts.protocol ?? "TCP").toLowerCase()}` }, opts.description);
  }
  withoutExposedPort(port: number, opts: ContainerWithExposedPortOpts = {}): Container {
    return this.config({ field: "expose", port: `${port}/${(opts.protocol ?? "TCP").toLowerCase()}`, remove: true });
  }
  /** A VOLUME entry in the image config. */
  withVolume(path: string, opts: { description?: string } = {}): Container {
    return this.config({ field: "volume", path }, opts.description);
  }
  withStopSignal(signal: string, opts: { description?: string } = {}): Container {
    return this.config({ field: "stopSignal", signal }, opts.description);
  }
  /** HEALTHCHECK; null disables one inherited from the base image. */
  withHealthcheck(healthcheck: HealthConfig | null, opts: { description?: string } = {}): Container {
    return this.config({ field: "healthcheck", healthcheck }, opts.description);
  }
  /** The shell used for shell-form commands (SHELL). */
  withShell(args: string[], opts: { description?: string } = {}): Container {
    return this.config({ field: "shell", args: [...args] }, opts.description);
  }
  /**
   * The image config's `author` (what docker's MAINTAINER sets). The OCI
   * annotation and label org.opencontainers.image.authors are the current way.
   * @example c.withAuthor("Jane Doe <jane@example.com>")
   */
  withAuthor(author: string, opts: { description?: string } = {}): Container {
    return this.config({ field: "author", author: String(author) }, opts.description);
  }
  /** Records an ONBUILD trigger. */
  withOnBuild(trigger: string, opts: { description?: string } = {}): Container {
    return this.config({ field: "onBuild", trigger }, opts.description);
  }

  /** @example c.withNewFile("/etc/motd", "hello\n", { permissions: 0o644 }) */
  withNewFile(path: string, contents: string, opts: ContainerWithNewFileOpts = {}): Container {
    return this.with({ type: "newFile", path, contents, permissions: opts.permissions ?? 0o644, owner: opts.owner }, opts.description);
  }
  /** @example c.withFile("/app/config.json", client.host().file("./config.json")) */
  withFile(path: string, file: File, opts: ContainerWithFileOpts = {}): Container {
    return this.with({ type: "file", path, file: file.node, permissions: opts.permissions, owner: opts.owner }, opts.description);
  }
  /** @example c.withDirectory("/app", client.host().directory("."), { exclude: ["node_modules"] }) */
  withDirectory(path: string, dir: Directory, opts: ContainerWithDirectoryOpts = {}): Container {
    return this.with({ type: "directory", path, dir: dir.node, exclude: opts.exclude ?? [], include: opts.include ?? [], owner: opts.owner, permissions: opts.permissions }, opts.description);
  }
  /** Removes a file (a whiteout in a new layer). */
  withoutFile(path: string): Container {
    return this.with({ type: "remove", path, what: "file" });
  }
  /** Removes a directory and everything below it. */
  withoutDirectory(path: string): Container {
    return this.with({ type: "remove", path, what: "directory" });
  }
  /** Replaces the whole filesystem with `dir` (one layer). */
  withRootfs(dir: Directory): Container {
    return this.with({ type: "rootfs", dir: dir.node });
  }

  private mount(target: string, mount: MountSpec): Container {
    return this.with({ type: "mount", target, mount });
  }
  /** @example c.withMountedCache("/root/.npm", client.cacheVolume("npm"), { sharing: "LOCKED" }) */
  withMountedCache(path: string, cache: CacheVolume, opts: ContainerWithMountedCacheOpts = {}): Container {
    return this.mount(path, { type: "cache", volume: cache.key, sharing: opts.sharing ?? "SHARED", source: opts.source?.node, owner: opts.owner });
  }
  withMountedDirectory(path: string, dir: Directory, opts: { owner?: string; readOnly?: boolean } = {}): Container {
    return this.mount(path, { type: "directory", dir: dir.node, owner: opts.owner, readOnly: opts.readOnly });
  }
  withMountedFile(path: string, file: File, opts: { owner?: string } = {}): Container {
    return this.mount(path, { type: "file", file: file.node, owner: opts.owner });
  }
  withMountedTemp(path: string): Container {
    return this.mount(path, { type: "temp" });
  }
  /** @example c.withMountedSecret("/run/secrets/token", client.setSecret("token", process.env.TOKEN!)) */
  withMountedSecret(path: string, secret: Secret, opts: ContainerWithMountedSecretOpts = {}): Container {
    return this.mount(path, { type: "secret", secret: secret.ref, mode: opts.mode ?? 0o400, owner: opts.owner });
  }
  withoutMount(path: string): Container {
    return this.with({ type: "unmount", target: path });
  }
  /** An environment variable whose value is a secret (present while commands run, never in the image). */
  withSecretVariable(name: string, secret: Secret): Container {
    return this.with({ type: "secretEnv", name, secret: secret.ref });
  }
  withoutSecretVariable(name: string): Container {
    return this.with({ type: "secretEnv", name });
  }
  /**
   * Credentials for a registry, used by this chain's from() and publish()
   * (and by every container built on this one); siblings never see them,
   * and they are not part of the image or of any cache key.
   * @example client.container().withRegistryAuth("ghcr.io", "me", client.setSecret("pat", process.env.GHCR_PAT!)).from("ghcr.io/me/base:1")
   */
  withRegistryAuth(address: string, username: string, secret: Secret): Container {
    if (!this.ctx.session.secrets.has(secret.ref.name)) throw new LadingError("NOT_FOUND", `secret "${secret.ref.name}" has no value`);
    return this.with({ type: "registryAuth", registry: registryHost(address), username, secret: secret.ref });
  }
  /** Drops this chain's credentials for a registry (withRegistryAuth); files such as ~/.docker/config.json still apply. */
  withoutRegistryAuth(address: string): Container {
    return this.with({ type: "registryAuth", registry: registryHost(address) });
  }

  /** The directory at `path` in the container. */
  directory(path: string): Directory {
    return new Directory(this.ctx, directoryNode(undefined, { type: "containerPath", container: this.node, path }));
  }
  /** The file at `path` in the container. */
  file(path: string): File {
    return new File(this.ctx, fileNode({ type: "containerPath", container: this.node, path }));
  }
  /** The whole filesystem. */
  rootfs(): Directory {
    return this.directory("/");
  }

  async envVariable(name: string): Promise<string | null> {
    return envValue((await this.state()).config, name);
  }
  async envVariables(): Promise<Array<{ name: string; value: string }>> {
    return ((await this.state()).config.Env ?? []).map((e) => ({ name: e.slice(0, e.indexOf("=")), value: e.slice(e.indexOf("=") + 1) }));
  }
  async workdir(): Promise<string> {
    return (await this.state()).config.WorkingDir ?? "";
  }
  async user(): Promise<string> {
    return (await this.state()).config.User ?? "";
  }
  async entrypoint(): Promise<string[] | null> {
    return (await this.state()).config.Entrypoint ?? null;
  }
  async defaultArgs(): Promise<string[] | null> {
    return (await this.state()).config.Cmd ?? null;
  }
  async label(name: string): Promise<string | null> {
    return (await this.state()).config.Labels?.[name] ?? null;
  }
  async annotation(name: string): Promise<string | null> {
    return (await this.state()).annotations[name] ?? null;
  }
  async exposedPorts(): Promise<string[]> {
    return Object.keys((await this.state()).config.ExposedPorts ?? {});
  }
  /** "os/arch[/variant]" */
  async platform(): Promise<string> {
    return formatPlatform((await this.state()).platform);
  }
  /** The image config as it would be written. */
  async imageConfig(): Promise<import("../oci/types.js").RuntimeConfig> {
    return structuredClone((await this.state()).config);
  }
  /** Number of layers. */
  async layerCount(): Promise<number> {
    return (await this.state()).layers.length;
  }

  /** Evaluates everything up to here (running commands), and returns this container. */
  async sync(): Promise<Container> {
    await this.state();
    return this;
  }

  /**
   * The image manifest digest (`sha256:…`), computed without pushing.
   * @example const d = await c.digest();
   */
  async digest(opts: { mediaTypes?: "OCI" | "Docker"; forcedCompression?: "Gzip" | "Zstd" | "Uncompressed" } = {}): Promise<string> {
    const { finalizeRoot } = await import("../engine/export.js");
    return (await finalizeRoot(this.ctx.evaluator, this.node, opts)).digest;
  }

  /**
   * Writes the image as an OCI layout tarball (with a docker `manifest.json`) at `path`, atomically; returns the absolute path.
   * @example await c.export("./img.tar", { tag: "myapp:1.0" })
   */
  async export(path: string, opts: ContainerExportOpts = {}): Promise<string> {
    const { exportContainer } = await import("../engine/export.js");
    const { resolve } = await import("node:path");
    await exportContainer(this.ctx.evaluator, this.node, path, { mediaTypes: opts.mediaTypes, forcedCompression: opts.forcedCompression, tag: opts.tag, platformVariants: opts.platformVariants?.map((c) => c.node) });
    return resolve(path);
  }

  /**
   * Writes the image into an OCI image layout folder (created if missing; other images there stay), named `tag`.
   * @example await c.exportLayout("./layout", { tag: "latest" })
   */
  async exportLayout(dir: string, opts: ContainerExportOpts = {}): Promise<string> {
    const { exportLayout } = await import("../engine/export.js");
    const root = await exportLayout(this.ctx.evaluator, this.node, dir, { mediaTypes: opts.mediaTypes, forcedCompression: opts.forcedCompression, tag: opts.tag, platformVariants: opts.platformVariants?.map((c) => c.node) });
    return root.digest;
  }

  /** The image as an OCI tarball File (lazy). */
  asTarball(opts: ContainerAsTarballOpts = {}): File {
    return new File(this.ctx, fileNode({ type: "tarball", container: this.node, mediaTypes: opts.mediaTypes, forcedCompression: opts.forcedCompression, platformVariants: opts.platformVariants?.map((c) => c.node) }));
  }

  /**
   * Pushes the image to a registry; returns `address@sha256:…`.
   * @example const ref = await c.publish("127.0.0.1:5000/app:1.0")
   */
  async publish(address: string, opts: ContainerPublishOpts = {}): Promise<string> {
    const { publishContainer } = await import("../engine/publish.js");
    return publishContainer(this.ctx.evaluator, this.node, address, { mediaTypes: opts.mediaTypes, forcedCompression: opts.forcedCompression, platformVariants: opts.platformVariants?.map((c) => c.node) });
  }

  /** Names the image in the store (like `docker tag`), so later from(name) uses it without any lookup. */
  async tag(name: string): Promise<string> {
    const { finalizeRoot } = await import("../engine/export.js");
    const { storeName } = await import("../engine/names.js");
    const root = await finalizeRoot(this.ctx.evaluator, this.node);
    await this.ctx.session.store.tag(storeName(name), root);
    return root.digest;
  }
}

/** The registry host of an address ("ghcr.io/me/app:1" → "ghcr.io"; a bare host stays as it is). */
function registryHost(address: string): string {
  return address.split("/")[0]!;
}
