import { AsyncLocalStorage } from "node:async_hooks";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { EnvConfig } from "../env-config.js";
import type { Store } from "../store/store.js";
import type { PullPolicy } from "../registry/pull-policy.js";
import type { ProgressEvent, ProgressListener } from "./events.js";
import type { Digest } from "../oci/digest.js";
import type { LayerRef, Platform } from "../oci/types.js";

export type { PullPolicy };

export interface RegistrySettings {
  insecureRegistries?: string[];
  caFiles?: Record<string, string>;
  auth?: Array<{ registry: string; username: string; secret: string }>;
  concurrency?: number;
}

/** Everything an evaluation needs besides the op graph, resolved once (see api/client.ts for defaults). */
export interface SessionConfig {
  readonly store: Store;
  /** The environment's settings, read once when the session opened. */
  readonly env: EnvConfig;
  readonly sourceDateEpoch?: number;
  /** Layers' mtimes come down to the build epoch (default); false keeps them as the files have them. */
  readonly clampMtime: boolean;
  readonly compression: "gzip" | "zstd" | "none";
  readonly mediaTypes: "OCI" | "Docker";
  readonly pull: PullPolicy;
  readonly noCache: boolean;
  readonly runtime?: "runc" | "crun" | "podman";
  readonly registry: RegistrySettings;
  readonly onEvent?: ProgressListener;
  readonly signal?: AbortSignal;
  /** Source reference → digest, from a lock file: tags resolve to these without asking the registry. */
  readonly sourcePins?: Readonly<Record<string, string>>;
  /** Fail when a tag has no pin (a frozen lock). */
  readonly requirePins?: boolean;
  /** The session network (services) has a way out through slirp4netns; false: it reaches only its own containers. Default true. */
  readonly serviceOutbound?: boolean;
  /** The W3C traceparent of a running step's span (set by tracing): an exec gives it to its processes as $TRACEPARENT. */
  readonly traceparent?: (stepId: string) => string | undefined;
}

/** One step result as the op cache holds it, with the op cache key it is recorded under. */
export interface CacheLogEntry {
  readonly cacheKey: Digest;
  readonly kind: "layer" | "exec";
  /** The platform of the image the step built (a cache is written per platform). */
  readonly platform: Platform;
  /** The op cache record: `{ layer }` for a layer step, an exec's outcome (exit code, output, layer) for an exec. */
  readonly record: { layer?: LayerRef; exitCode?: number; stdout?: string; stderr?: string };
}

/**
 * The time rule of every layer a build writes (issue 19): the build epoch is
 * SOURCE_DATE_EPOCH, else 0; generated entries get it and, unless the user
 * opted out, every other mtime is clamped to it. So a RUN step's files, made
 * at wall-clock time, and a context's files, whose times say when they were
 * checked out, never reach a layer's bytes.
 */
export function layerTimes(config: SessionConfig): { sourceDateEpoch: number; clampMtime: boolean } {
  return { sourceDateEpoch: config.sourceDateEpoch ?? 0, clampMtime: config.clampMtime };
}

/**
 * One client's working state: settings, secret values (never in ops or
 * keys), registry credentials, and temp space freed on close.
 */
export class Session {
  readonly config: SessionConfig;
  readonly secrets = new Map<string, Buffer>();
  /** Every registry source resolved in this session → the digest it resolved to (for lock files). */
  readonly resolutions = new Map<string, string>();
  /** Each git remote's refs, listed once per session (remote URL → listing in flight or done). */
  readonly gitRemotes = new Map<string, Promise<unknown>>();
  /** Registry build caches (references) whose results steps may take (`cacheFrom`); see registry-cache/. */
  readonly cacheSources: string[] = [];
  /**
   * Every cacheable step result this session took or made, by the step's
   * state key: what a build cache export (`exportCache`) writes out.
   */
  readonly cacheLog = new Map<string, CacheLogEntry>();
  /** Work to finish when the session closes (registry connections kept for lazy blobs). */
  private readonly closers: Array<() => Promise<void>> = [];
  private tempRoot?: Promise<string>;
  /**
   * The step (or span) whose work is running, followed through awaits: a
   * step event emitted inside it names it as its parent, so traces nest as
   * the work did without any step passing ids around.
   */
  private readonly scope = new AsyncLocalStorage<string>();

  constructor(config: SessionConfig) {
    this.config = config;
  }

  get store(): Store {
    return this.config.store;
  }

  emit(e: ProgressEvent): void {
    if (e.type === "step" && e.parent === undefined) {
      const parent = this.scope.getStore();
      if (parent !== undefined && parent !== e.id) e = { ...e, parent };
    }
    try {
      this.config.onEvent?.(e);
    } catch {
      // A listener's failure must not break a build.
    }
  }

  /** Runs `fn` as the work of step `id`: steps it emits are that step's children. */
  within<T>(id: string, fn: () => T): T {
    return this.scope.run(id, fn);
  }

  debug(message: string): void {
    this.emit({ type: "debug", message });
  }

  /** A fresh temp dir inside the store's temp space (swept if this process dies). */
  async tempDir(prefix: string): Promise<string> {
    this.tempRoot ??= (async () => {
      const p = this.store.tempPath("session");
      await (await import("node:fs/promises")).mkdir(p, { mode: 0o700 }); // private even in a shared store
      return p;
    })();
    return mkdtemp(join(await this.tempRoot, prefix + "-"));
  }

  /** Runs `fn` when the session closes, before its temp space goes (services end there; clients close), last added first, failures ignored. */
  atClose(fn: () => Promise<void>): void {
    this.closers.push(fn);
  }

  /** Runs the close hooks now (services end while tracing still records their stop). */
  async endWork(): Promise<void> {
    for (const fn of this.closers.splice(0).reverse()) await fn().catch(() => {});
  }

  async close(): Promise<void> {
    await this.endWork();
    if (this.tempRoot) {
      const p = await this.tempRoot.catch(() => undefined);
      this.tempRoot = undefined;
      if (p) await rm(p, { recursive: true, force: true }).catch(() => {});
    }
  }
}
