import { LadingError } from "../errors.js";
import { Evaluator } from "../engine/evaluator.js";
import { containerNode, directoryNode, fileNode } from "../engine/ops.js";
import { hostPlatform, parsePlatform } from "../engine/image-state.js";
import { Session, type PullPolicy } from "../engine/session.js";
import type { ProgressListener } from "../engine/events.js";
import { collectIfDue, fsckStore, leaseStore, openStore, pruneStore, storeDiskUsage } from "../engine/store-session.js";
import type { DiskUsageReport as DiskUsage, FsckReport as FsckResult, GcConfig, Lease, PruneOptions as PruneOpts, PruneReport as PruneResult } from "../engine/store-session.js";
import type { ApiContext } from "./context.js";
import { Container } from "./container.js";
import { hostService, type PortForward, type Service } from "./service.js";
import { Directory } from "./directory.js";
import { File } from "./file.js";
import { CacheVolume, Secret } from "./secret.js";
import { GitRepository, type ClientGitOpts } from "./git.js";
import { openGitAddress } from "../engine/sources/git.js";
import type { ClientContainerOpts, ClientFsckOpts, ClientInspectImageOpts, HostDirectoryOpts } from "./options.js";
import { mediaTypesFlavour, supportedCompression, type ImageLayerCompression, type ImageMediaTypes } from "./enums.js";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { ImageInspection } from "../engine/inspect.js";
import { readEnvConfig } from "../env-config.js";
import { runStep } from "../engine/steps/run-step.js";
import { addCacheSource } from "../engine/registry-cache/sources.js";
import { startTracing, type TraceOptions, type Tracing } from "../telemetry/index.js";

/** Options of `connect`: resolved once, when the client opens; an unknown field is an `INVALID_ARGUMENT` error. */
export interface ConnectOpts {
  /** The store folder. Default: $LADING_HOME, else $XDG_DATA_HOME/lading, else ~/.local/share/lading. */
  store?: string;
  /** The build epoch (seconds): layers' mtimes are clamped to it, generated files and image dates get it. Default: $SOURCE_DATE_EPOCH, else 0. */
  sourceDateEpoch?: number;
  /**
   * Clamp every mtime in the layers a build writes (RUN/withExec and COPY
   * layers alike) to the build epoch, so the same inputs give the same
   * digests. Default true; false (or $LADING_CLAMP_MTIME=0) keeps the times
   * the files have: wall-clock times for what a step makes, the context's
   * times for what it copies. Image dates stay the epoch either way.
   * @example connect({ clampMtime: false }) // `make` in a later build sees real times
   */
  clampMtime?: boolean;
  /** Layer compression for new layers: `ImageLayerCompression.Gzip` / "Gzip" (the default), `.Zstd` or `.Uncompressed` (`.Estargz` is refused). */
  compression?: ImageLayerCompression;
  /** Media types of written images: `ImageMediaTypes.Ocimediatypes` (the default) or `.Dockermediatypes` (also "OCI", "Docker"). */
  mediaTypes?: ImageMediaTypes;
  /** When from() contacts a registry: "missing" (default), "always", "never". */
  pull?: PullPolicy;
  /** Ignore cached results (every step runs). */
  noCache?: boolean;
  /** Exec backend; default $LADING_RUNTIME, else auto-detected. */
  runtime?: "runc" | "crun" | "podman";
  /** Registries reached over plain HTTP / without TLS verification (loopback ones always are). */
  insecureRegistries?: string[];
  /** Per-registry CA files. */
  registryCAs?: Record<string, string>;
  /** Parallel blob transfers per push/pull. Default 4. */
  registryConcurrency?: number;
  /** Receives progress events. */
  log?: ProgressListener;
  /** Aborts everything in flight. */
  signal?: AbortSignal;
  /**
   * The store's disk policy (issue 6): `reservedSpace`, `maxUsedSpace`,
   * `minFreeSpace` as bytes, sizes like "10GB" or percentages of the disk
   * like "20%"; `false` turns automatic collection off. Overrides
   * `<store>/lading.json` and $LADING_GC_RESERVED / $LADING_GC_MAX_USED /
   * $LADING_GC_MIN_FREE ($LADING_GC=off).
   * @example connect({ gc: { maxUsedSpace: "20GB", minFreeSpace: "10%" } })
   */
  gc?: GcConfig;
  /**
   * Registry build caches whose step results this client may take instead
   * of running the steps (`--cache-from type=registry,ref=…`), asked in
   * this order; one that cannot be used (missing, unreachable, another
   * platform or cache format) gives one warning event and is skipped.
   * @example connect({ cacheFrom: ["registry.example.com/app:buildcache"] })
   */
  cacheFrom?: string[];
  /** Pins from a lock file: registry source (`docker.io/library/alpine:3.20`) → digest. Tags resolve to these with no request. */
  sourcePins?: Record<string, string>;
  /** With sourcePins: a registry tag without a pin is an error (a frozen lock). */
  requirePins?: boolean;
  /**
   * Traces this session as OpenTelemetry spans (one per step, nested as the
   * work is): to an OTLP collector set by the standard OTEL_EXPORTER_OTLP_*
   * variables (on by itself when $OTEL_EXPORTER_OTLP_ENDPOINT is set), and/or
   * to a file written on close (`.html` to open in a browser, `.json` as
   * OTLP/JSON). With $TRACEPARENT set, the session joins that trace.
   * @example connect({ trace: { file: "build-trace.html" } })
   */
  trace?: TraceOptions;
  /**
   * Whether the session network (services, and every exec while a service
   * runs) has a way out, through slirp4netns: to the internet, and to the
   * host's 127.0.0.1 as 10.0.2.2 (`host.lading.internal`), as a Dagger
   * container has. Default true; false closes it: containers there reach
   * only each other, and the host only through `up`, `endpoint` and
   * `client.host().service`.
   * @example connect({ serviceOutbound: false }) // hermetic integration tests
   */
  serviceOutbound?: boolean;
}

/** One registry source resolved in a session (`Client.sources`). */
export interface SourcePin {
  /** The source as written, normalised (`docker.io/library/alpine:3.20`). */
  source: string;
  /** The digest it resolved to (`sha256:…`). */
  pin: string;
}

/** One named image in the store (`Client.images`). */
export interface StoredImage {
  /** The name it is stored under. */
  name: string;
  /** Digest of its manifest or index. */
  digest: string;
  /** Media type of that manifest or index. */
  mediaType: string;
  /** Size in bytes of that manifest or index (not of the layers). */
  size: number;
}

const COMPRESSION = { Gzip: "gzip", Zstd: "zstd", Uncompressed: "none" } as const;

/**
 * Opens a client on a store (made if missing) and takes a lease on it, so
 * nothing this client makes or uses is collected while it is open. Close it
 * with `client.close()` when done, or pass a callback (the other form).
 * @param opts See {@link ConnectOpts}.
 * @returns The open client.
 * @throws LadingError `INVALID_ARGUMENT` for an unknown option or an invalid value (compression, pull policy, runtime, sourceDateEpoch, clampMtime).
 * @example
 * const client = await connect({ store: "./store" });
 * try { await client.container().from("alpine:3.20").export("alpine.tar"); } finally { await client.close(); }
 */
export async function connect(opts?: ConnectOpts): Promise<Client>;
/**
 * Opens a client on a store, runs `fn` with it, and closes the client when
 * `fn` settles, even when it throws (Dagger's scoped form).
 * @param fn Receives the open client; its result is connect's.
 * @param opts See {@link ConnectOpts}.
 * @returns What `fn` returned.
 * @throws LadingError `INVALID_ARGUMENT` for an unknown option or an invalid value; else whatever `fn` throws.
 * @example
 * await connect(async (client) => {
 *   await client.container().from("oci:./busybox").withNewFile("/hi", "hi").export("img.tar");
 * });
 */
export async function connect<T>(fn: (client: Client) => Promise<T>, opts?: ConnectOpts): Promise<T>;
export async function connect<T>(a?: ConnectOpts | ((client: Client) => Promise<T>), b?: ConnectOpts): Promise<Client | T> {
  const opts = (typeof a === "function" ? b : a) ?? {};
  const client = await Client.open(opts);
  if (typeof a !== "function") return client;
  try {
    return await a(client);
  } finally {
    await client.close();
  }
}

function resolveClamp(v: boolean | undefined, env: string | undefined): boolean {
  if (v !== undefined) {
    if (typeof v !== "boolean") throw new LadingError("INVALID_ARGUMENT", `clampMtime must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }
  if (env === undefined) return true;
  if (["0", "false", "no", "off"].includes(env.toLowerCase())) return false;
  if (["1", "true", "yes", "on"].includes(env.toLowerCase())) return true;
  throw new LadingError("INVALID_ARGUMENT", `LADING_CLAMP_MTIME must be 0 or 1, got "${env}"`);
}

function resolveEpoch(v: number | undefined, env: string | undefined): number | undefined {
  if (v !== undefined) {
    if (!Number.isInteger(v) || v < 0) throw new LadingError("INVALID_ARGUMENT", `sourceDateEpoch must be a non-negative integer, got ${v}`);
    return v;
  }
  if (env === undefined) return undefined;
  if (!/^\d+$/.test(env)) throw new LadingError("INVALID_ARGUMENT", `SOURCE_DATE_EPOCH must be a whole number of seconds, got "${env}"`);
  return Number(env);
}

/**
 * The entry point of the API, from `connect`: makes containers,
 * directories, files, secrets and cache volumes, and looks after the store.
 * Values it makes belong to it: use them only while it is open.
 *
 * @example
 * const client = await connect();
 * try {
 *   await client.container().from("alpine:3.20").withExec(["apk", "add", "curl"]).publish("127.0.0.1:5000/curl:1");
 * } finally {
 *   await client.close();
 * }
 */
export class Client {
  /** @internal The session and evaluator every value of this client carries. */
  readonly ctx: ApiContext;
  private constructor(ctx: ApiContext) {
    this.ctx = ctx;
  }

  /** @internal Use `connect`, which also closes the client for you. */
  static async open(opts: ConnectOpts): Promise<Client> {
    for (const k of Object.keys(opts)) {
      if (!KNOWN_OPTS.has(k)) throw new LadingError("INVALID_ARGUMENT", `unsupported connect option "${k}"`);
    }
    const compression = supportedCompression(opts.compression, "compression");
    const mediaTypes = mediaTypesFlavour(opts.mediaTypes);
    if (opts.pull && !["missing", "always", "never"].includes(opts.pull)) throw new LadingError("INVALID_ARGUMENT", `invalid pull policy "${opts.pull}": use "missing", "always" or "never"`);
    if (opts.serviceOutbound !== undefined && typeof opts.serviceOutbound !== "boolean") throw new LadingError("INVALID_ARGUMENT", `invalid serviceOutbound ${JSON.stringify(opts.serviceOutbound)}: use true or false`);
    const env = readEnvConfig();
    const runtime = opts.runtime ?? (env.runtime as ConnectOpts["runtime"]);
    if (runtime && !["runc", "crun", "podman"].includes(runtime)) throw new LadingError("INVALID_ARGUMENT", `invalid runtime "${runtime}": use runc, crun or podman`);
    // Resolved before the store is opened: a bad value leaves nothing behind.
    const sourceDateEpoch = resolveEpoch(opts.sourceDateEpoch, env.sourceDateEpoch);
    const clampMtime = resolveClamp(opts.clampMtime, env.clampMtime);
    // Checked (and the OpenTelemetry modules loaded, when tracing is on) before the store is opened.
    const tracing = await startTracing(opts.trace, env.otel);
    const log = opts.log;
    const onEvent: ProgressListener | undefined = tracing
      ? (e) => {
          tracing.listener(e);
          log?.(e);
        }
      : log;
    const { store, gc } = await openStore(opts.store, opts.gc, env).catch(async (err) => {
      await tracing?.close();
      throw err;
    });
    const session = new Session({
      store,
      env,
      sourceDateEpoch,
      clampMtime,
      compression: COMPRESSION[compression ?? "Gzip"],
      mediaTypes: mediaTypes ?? "OCI",
      pull: opts.pull ?? "missing",
      noCache: opts.noCache ?? false,
      runtime,
      registry: { insecureRegistries: opts.insecureRegistries, caFiles: opts.registryCAs, concurrency: opts.registryConcurrency },
      onEvent,
      signal: opts.signal,
      sourcePins: opts.sourcePins,
      requirePins: opts.requirePins,
      ...(opts.serviceOutbound !== undefined ? { serviceOutbound: opts.serviceOutbound } : {}),
      ...(tracing ? { traceparent: (id: string) => tracing.traceparent(id) } : {}),
    });
    const client = new Client({ session, evaluator: new Evaluator(session) });
    try {
      if (opts.cacheFrom !== undefined && !Array.isArray(opts.cacheFrom)) throw new LadingError("INVALID_ARGUMENT", "cacheFrom must be a list of registry references");
      for (const ref of opts.cacheFrom ?? []) client.importCache(ref);
    } catch (err) {
      await tracing?.close();
      throw err;
    }
    client.tracing = tracing;
    client.lease = await leaseStore(store);
    client.gc = gc;
    return client;
  }

  /**
   * The store folder this client uses (absolute).
   * @example console.log(client.storePath);
   */
  get storePath(): string {
    return this.ctx.session.store.root;
  }

  /**
   * This machine's platform in OCI spelling (`linux/amd64`, `linux/arm/v7`):
   * what containers are built for when no platform is given.
   * @returns The platform, e.g. `linux/amd64`.
   * @example client.defaultPlatform() // "linux/amd64"
   */
  defaultPlatform(): string {
    return hostPlatform();
  }

  /**
   * How this machine runs commands of `platform` (`withExec`, `RUN`): natively, or through an emulator
   * (qemu-user-static) registered with binfmt_misc with the F flag. Ask it before a build to fail before any work.
   * @param platform `os/arch[/variant]`, e.g. `linux/arm64`.
   * @returns null when the machine runs them itself, else the emulator's path (`/usr/libexec/qemu-binfmt/aarch64-binfmt-P`).
   * @throws LadingError `RUNTIME_UNAVAILABLE` saying what to install or fix when no emulator serves the platform;
   *   `INVALID_ARGUMENT` for a platform that cannot be parsed.
   * @example await client.emulatorFor("linux/arm64") // "/usr/libexec/qemu-binfmt/aarch64-binfmt-P" on an amd64 machine
   */
  async emulatorFor(platform: string): Promise<string | null> {
    const { platformEmulation } = await import("../engine/emulation.js");
    const e = await platformEmulation(this.ctx.session, parsePlatform(platform));
    return e.kind === "native" ? null : e.interpreter;
  }

  /**
   * A new, empty container (scratch) for a platform; `from` then picks that platform's image of an index.
   * @param opts See {@link ClientContainerOpts}.
   * @throws LadingError `INVALID_ARGUMENT` at once for a platform that cannot be parsed.
   * @example client.container({ platform: "linux/arm64" }).from("alpine")
   */
  container(opts: ClientContainerOpts = {}): Container {
    const platform = opts.platform ?? hostPlatform();
    try {
      parsePlatform(platform);
    } catch (err) {
      throw new LadingError("INVALID_ARGUMENT", (err as Error).message, { cause: err });
    }
    return new Container(this.ctx, containerNode(undefined, { type: "init", platform }));
  }

  /**
   * An empty directory, to fill with `with…` calls.
   * @example client.directory().withNewFile("a.txt", "a")
   */
  directory(): Directory {
    return new Directory(this.ctx, directoryNode(undefined, { type: "empty" }));
  }

  /**
   * The machine lading runs on: its files and directories.
   * @example const src = client.host().directory(".");
   */
  host(): Host {
    return new Host(this.ctx);
  }

  /**
   * The contents of a tar archive (plain, gzip, bzip2 or xz) as a directory (lazy; read safely: no entry escapes it).
   * @param file The archive.
   * @throws LadingError on evaluation `UNSAFE_ARCHIVE` for an entry that would escape the root.
   * @example client.archive(client.host().file("./rootfs.tar.gz")).entries()
   */
  archive(file: File): Directory {
    return new Directory(this.ctx, directoryNode(undefined, { type: "archive", file: file.node }));
  }

  /**
   * A remote git repository, reached with the user's own git set-up
   * (credential helpers, ~/.gitconfig, the ssh agent); nothing is asked of
   * the remote until a result is needed.
   * @param url `https://host/path.git`, `ssh://[user@]host/path` or `user@host:path`. Credentials written in an http URL are used, and never shown or stored.
   * @param opts See {@link ClientGitOpts}.
   * @throws LadingError `INVALID_ARGUMENT` at once for a URL git cannot take or an unknown option.
   * @example client.git("https://git.example.com/team/app.git").branch("main").tree()
   */
  git(url: string, opts: ClientGitOpts = {}): GitRepository {
    GitRepository.checkOpts(opts);
    const { url: clean, urlAuth } = openGitAddress(this.ctx.session, url);
    const header = opts.httpAuthHeader?.ref ?? (opts.httpAuthToken ? undefined : urlAuth);
    return new GitRepository(this.ctx, clean, opts.keepGitDir ?? false, {
      ...(opts.httpAuthToken ? { token: opts.httpAuthToken.ref } : {}),
      ...(header ? { header } : {}),
      ...(opts.sshAuthSocket ? { sshAuthSocket: opts.sshAuthSocket } : {}),
      ...(opts.sshKnownHosts !== undefined ? { sshKnownHosts: opts.sshKnownHosts } : {}),
    });
  }

  /**
   * A persistent cache volume, kept in the store by name (the same name gives the same volume, in every build on this store).
   * @param key The volume's name.
   * @throws LadingError `INVALID_ARGUMENT` at once for an empty name.
   * @example c.withMountedCache("/root/.npm", client.cacheVolume("npm"))
   */
  cacheVolume(key: string): CacheVolume {
    if (!key) throw new LadingError("INVALID_ARGUMENT", "a cache volume needs a name");
    return new CacheVolume(key);
  }

  /**
   * A secret with a plain value, known to this session by `name` (setting a name again replaces its value).
   * @param name The name ops and cache keys refer to it by.
   * @param value The value (kept in memory only).
   * @throws LadingError `INVALID_ARGUMENT` at once for an empty name.
   * @example client.setSecret("token", process.env.TOKEN!)
   */
  setSecret(name: string, value: string): Secret {
    if (!name) throw new LadingError("INVALID_ARGUMENT", "a secret needs a name");
    this.ctx.session.secrets.set(name, Buffer.from(value));
    return new Secret(name);
  }

  /**
   * A secret read from an environment variable, at once.
   * @param name The secret's name.
   * @param envVar The environment variable to read.
   * @throws LadingError `NOT_FOUND` at once when the variable is not set.
   * @example client.secretFromEnv("npm", "NPM_TOKEN")
   */
  secretFromEnv(name: string, envVar: string): Secret {
    const v = process.env[envVar];
    if (v === undefined) throw new LadingError("NOT_FOUND", `secret "${name}": environment variable ${envVar} is not set`);
    return this.setSecret(name, v);
  }

  /**
   * A secret read from a file, at once.
   * @param name The secret's name.
   * @param path The file on the host.
   * @throws LadingError `NOT_FOUND` when the file cannot be read.
   * @example const key = await client.secretFromFile("ssh", `${process.env.HOME}/.ssh/id_ed25519`);
   */
  async secretFromFile(name: string, path: string): Promise<Secret> {
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch (err) {
      throw new LadingError("NOT_FOUND", `secret "${name}": cannot read ${path}`, { cause: err });
    }
    this.ctx.session.secrets.set(name, data);
    return new Secret(name);
  }

  /**
   * Lets this client's steps take results from a registry build cache (one
   * written by `Container.exportCache` or `--cache-to`) when the store has
   * none: the cache is read when a step first looks, its layers only when
   * something needs them. Caches are asked in the order added.
   * @param ref The cache's registry reference (`registry.example.com/app:buildcache`).
   * @throws LadingError `INVALID_ARGUMENT` at once for a reference that cannot be parsed.
   * @example client.importCache("registry.example.com/app:buildcache")
   */
  importCache(ref: string): void {
    addCacheSource(this.ctx.session, ref);
  }

  /**
   * Reads an image's manifest and config as they are (no rewrite), at once.
   * @param address A store name, `oci:…`, `oci-archive:…` or a registry reference.
   * @param opts See {@link ClientInspectImageOpts}.
   * @throws LadingError `NOT_FOUND`, `REGISTRY`, `AUTH` or `NETWORK` when the image cannot be read.
   * @example const { manifest, config } = await client.inspectImage("oci-archive:img.tar")
   */
  async inspectImage(address: string, opts: ClientInspectImageOpts = {}): Promise<ImageInspection> {
    const { inspectImage } = await import("../engine/inspect.js");
    return inspectImage(this.ctx.session, address, opts.platform ?? hostPlatform(), opts.anyPlatform ?? false);
  }

  /**
   * The registry sources resolved so far in this session and the digests they resolved to (what a lock file records), sorted by source.
   * @example const pins = Object.fromEntries(client.sources().map((s) => [s.source, s.pin]));
   */
  sources(): SourcePin[] {
    return [...this.ctx.session.resolutions].map(([source, pin]) => ({ source, pin })).sort((a, b) => (a.source < b.source ? -1 : 1));
  }

  /**
   * The images the store holds by name (from `Container.tag` and pulls), with their manifest or index descriptors.
   * @example for (const img of await client.images()) console.log(img.name, img.digest);
   */
  async images(): Promise<StoredImage[]> {
    return (await this.ctx.session.store.listNames()).map(({ name, descriptor }) => ({ name, digest: descriptor.digest, mediaType: descriptor.mediaType, size: descriptor.size }));
  }

  /**
   * Removes a name from the store (its blobs stay until garbage collection).
   * @param name The name as listed by `images()`, or as given to `Container.tag`.
   * @returns Whether the name existed.
   * @example await client.removeImage("myapp:dev");
   */
  async removeImage(name: string): Promise<boolean> {
    const { storeName } = await import("../engine/names.js");
    const s = this.ctx.session.store;
    return (await s.untag(name)) || (await s.untag(storeName(name)));
  }

  /**
   * Frees the session's temporary files, collects garbage if the disk policy
   * says so, and ends this client's lease on the store. Values of this client
   * must not be used afterwards.
   * @example await client.close();
   */
  async close(): Promise<void> {
    try {
      try {
        // Services end first: their stop spans belong in the trace.
        await this.ctx.session.endWork();
        await this.closeTrace();
      } finally {
        await this.ctx.session.close();
      }
      // While our lease holds, nothing this client made or used can be collected.
      await collectIfDue({ store: this.ctx.session.store, gc: this.gc }, this.ctx.session.config.env);
    } finally {
      await this.lease?.release();
      this.lease = undefined;
    }
  }

  /** Ends the trace: spans flushed to the collector, the trace file written. An export that failed is a warning, never the build's failure. */
  private async closeTrace(): Promise<void> {
    const tracing = this.tracing;
    this.tracing = undefined;
    if (!tracing) return;
    const failures = await tracing.close();
    if (failures.length) process.emitWarning(`lading: the trace was not (fully) exported: ${failures[0]}`, { code: "LADING_TRACE_EXPORT" });
  }

  /**
   * Runs `fn` as a phase of its own in the trace (and in JSON progress):
   * every step it causes appears under it, so a script's own phases
   * ("test", "package") show in the same trace as the build. Without
   * tracing it just runs `fn`.
   * @param name The phase's name.
   * @param fn The work; its result is span's.
   * @returns What `fn` returned.
   * @example await client.span("test", () => ctr.withExec(["npm", "test"]).sync());
   */
  async span<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
    if (!name) throw new LadingError("INVALID_ARGUMENT", "a span needs a name");
    return runStep(this.ctx.session, { id: `span:${++this.spans}:${name}`, name, kind: "span" }, async () => fn(), false);
  }

  /** @internal Tracing of this session, while it is open. */
  private tracing?: Tracing;
  /** @internal Spans opened so far (their ids are unique per session). */
  private spans = 0;

  /** @internal The lease this client holds on its store (see store/leases.ts). */
  private lease?: Lease;
  /** @internal The effective disk policy settings. */
  private gc: GcConfig = {};

  /**
   * Disk usage of the store by kind, what a full prune would reclaim, and the
   * disk policy's three figures for the disk holding it.
   * @returns Figures in bytes.
   * @example const { usage, reclaimable, policy } = await client.df()
   */
  async df(): Promise<DiskUsage> {
    return storeDiskUsage({ store: this.ctx.session.store, gc: this.gc });
  }

  /**
   * Frees what the store can rebuild or refetch: op-cache entries, unpacked
   * snapshots, cache volumes, blobs no named image holds (least recently
   * used first); with `all`, named images too. Never touches what a running
   * client has made or used since it started.
   * @param opts See {@link PruneOpts}.
   * @returns What was removed and how many bytes were freed.
   * @throws LadingError `INVALID_ARGUMENT` for an unknown option.
   * @example await client.prune({ keepStorage: "5GB", until: "24h" })
   */
  async prune(opts: PruneOpts = {}): Promise<PruneResult> {
    for (const k of Object.keys(opts)) if (!["all", "keepStorage", "until"].includes(k)) throw new LadingError("INVALID_ARGUMENT", `unsupported prune option "${k}"`);
    return pruneStore(this.ctx.session.store, opts, this.ctx.session.config.env);
  }

  /**
   * Verifies the store: every blob against its digest, named images' references,
   * op-cache records, pins and unpacked snapshots. With `repair`, removes what
   * is broken so the next build refetches or rebuilds it.
   * @param opts See {@link ClientFsckOpts}.
   * @example const report = await client.fsck(); if (!report.ok) await client.fsck({ repair: true })
   */
  async fsck(opts: ClientFsckOpts = {}): Promise<FsckResult> {
    return fsckStore(this.ctx.session.store, opts);
  }
}

export type { DiskUsageReport as DiskUsage, PruneOptions as PruneOpts, PruneReport as PruneResult } from "../engine/store-session.js";
export type { FsckReport as FsckResult, FsckProblem, FsckProblemKind } from "../engine/store-session.js";
export type { GcConfig, GcSettings, SizeSetting, PolicyFigures } from "../engine/store-session.js";

const KNOWN_OPTS = new Set(["cacheFrom", "trace", "sourcePins", "requirePins", "store", "sourceDateEpoch", "clampMtime", "compression", "mediaTypes", "pull", "noCache", "runtime", "insecureRegistries", "registryCAs", "registryConcurrency", "log", "signal", "gc", "serviceOutbound"]);

/**
 * Files and directories of the machine lading runs on, from `client.host()`.
 * Read lazily, when a step needs them; relative paths resolve against the
 * current directory at the call.
 *
 * @example
 * c.withDirectory("/app", client.host().directory(".", { exclude: ["node_modules"] }))
 */
export class Host {
  private readonly ctx: ApiContext;
  /** Not for direct use: made by `client.host()`. */
  constructor(ctx: ApiContext) {
    this.ctx = ctx;
  }
  /**
   * A host directory, read when first needed (its content key follows its files, so edits invalidate the steps that use it).
   * @param path Absolute, or relative to the current directory.
   * @param opts See {@link HostDirectoryOpts}.
   * @example client.host().directory(".", { exclude: ["node_modules", "*.log"] })
   */
  directory(path: string, opts: HostDirectoryOpts = {}): Directory {
    return new Directory(this.ctx, directoryNode(undefined, { type: "host", path: resolve(path), exclude: opts.exclude ?? [], include: opts.include ?? [] }));
  }
  /**
   * A host file, read when first needed.
   * @param path Absolute, or relative to the current directory.
   * @example client.host().file("./package.json")
   */
  file(path: string): File {
    return new File(this.ctx, fileNode({ type: "host", path: resolve(path) }));
  }
  /**
   * Ports of this machine's loopback as a Service containers can bind
   * (`withServiceBinding`): a container's connection to `alias:frontend`
   * reaches 127.0.0.1:`backend` here.
   * @param ports Each `{ frontend, backend }` pair.
   * @throws LadingError `INVALID_ARGUMENT` at once for no ports or a port outside 1–65535.
   * @example c.withServiceBinding("api", client.host().service([{ frontend: 80, backend: 8080 }]))
   */
  service(ports: PortForward[]): Service {
    return hostService(this.ctx, ports);
  }
}
