/**
 * The OCI Distribution client (issue 4). Requests go through a stack of
 * transport layers, outermost first: user agent → retry → auth → redirect →
 * undici (see transport/). Operations live in their own files (manifest.ts,
 * pull.ts, push.ts, blob-fetch.ts, blob-push.ts) and reach the wire only
 * through `RegistryClient.send`.
 */
import { LadingError } from "../errors.js";
import type { Digest } from "../oci/digest.js";
import type { Descriptor, Platform } from "../oci/types.js";
import type { RegistryStore } from "./registry-store.js";
import { Authenticator, withAuth } from "./transport/auth.js";
import { BaseTransport } from "./transport/base.js";
import { withRedirects } from "./transport/redirect.js";
import { withRetry } from "./transport/retry.js";
import { withSchemeFallback } from "./transport/scheme.js";
import { withUserAgent } from "./transport/user-agent.js";
import { withWarnings } from "./transport/warnings.js";
import type { HttpRequest, HttpResponse, RoundTrip } from "./transport/types.js";
import type { ProgressEvent, RegistryWire, ResolvedRegistryConfig } from "./wire.js";
import { apiHost, isLoopbackHost, type Reference } from "./reference.js";
import { readEnvConfig, type EnvConfig } from "../env-config.js";
import type { CredentialEnv } from "./auth/credentials.js";
// manifest.js, pull.js and push.js are imported when first used: a process
// that only pushes never loads the pull side, and the reverse (start-up is
// most of a short `lading push`; bench/README.md, "registry").

export interface RegistryOptions {
  /** Hosts that use plain HTTP (loopback hosts always do by default); if they answer with TLS, HTTPS without certificate verification. */
  insecureRegistries?: string[];
  /** Per-registry CA file (`"127.0.0.1:5443": "/path/ca.pem"`); such a registry is spoken to over verified HTTPS, even on loopback. */
  caFiles?: Record<string, string>;
  /** Explicit credentials (withRegistryAuth); they win over every file. */
  auth?: Array<{ registry: string; username: string; secret: string }>;
  /** Overrides $REGISTRY_AUTH_FILE lookups (tests). */
  authFile?: string;
  /** Overrides $DOCKER_CONFIG (tests). */
  dockerConfigDir?: string;
  /** The environment's credential locations and extra CAs (a session's, read once); default: this process's, read now. */
  env?: CredentialEnv & Pick<EnvConfig, "extraCaCerts">;
  /** Parallel blob transfers, default 4. */
  concurrency?: number;
  /** Tries after the first for temporary failures, default 5. */
  retries?: number;
  /** Upload chunk size for large blobs, default 512 MiB; blobs up to this size go up in one PUT. */
  chunkSize?: number;
  userAgent?: string;
  /** Called for every HTTP exchange on the wire (no credentials in url). */
  onRequest?: (info: { method: string; url: string }) => void;
  onProgress?: (e: ProgressEvent) => void;
  /** Registry `Warning: 299` texts, each once per client (show them to the user; nothing else is done). */
  onWarning?: (text: string) => void;
  /** First retry backoff in ms (default 200); tests lower it. */
  retryBaseDelayMs?: number;
}

const KNOWN = new Set(["insecureRegistries", "caFiles", "auth", "authFile", "dockerConfigDir", "env", "concurrency", "retries", "chunkSize", "userAgent", "onRequest", "onProgress", "onWarning", "retryBaseDelayMs"]);

export const DEFAULT_USER_AGENT = "lading/0.1 (+https://github.com/lading)";

export type { ProgressEvent } from "./wire.js";

export class RegistryClient implements RegistryWire {
  readonly config: ResolvedRegistryConfig;
  private readonly base: BaseTransport;
  private readonly rt: RoundTrip;
  private readonly insecure: Set<string>;
  private readonly caFiles: Record<string, string>;
  /** Loopback or insecure hosts found to speak TLS (see transport/scheme.ts). */
  private readonly httpsHosts = new Set<string>();

  constructor(opts: RegistryOptions = {}) {
    for (const k of Object.keys(opts)) {
      if (!KNOWN.has(k)) throw new LadingError("INVALID_ARGUMENT", `unknown registry option "${k}"; known: ${[...KNOWN].join(", ")}`);
    }
    const positive = (v: number | undefined, name: string, dflt: number, min = 1): number => {
      if (v === undefined) return dflt;
      if (!Number.isInteger(v) || v < min) throw new LadingError("INVALID_ARGUMENT", `registry option ${name} must be an integer ≥ ${min}, got ${v}`);
      return v;
    };
    this.config = {
      concurrency: positive(opts.concurrency, "concurrency", 4),
      retries: positive(opts.retries, "retries", 5, 0),
      // 512 MiB: most layers go up in one PUT, as docker, skopeo and containerd send every layer in one
      // request. Each chunk boundary cost a round trip and, in registry 2.8, an fsync of the chunk, a saved
      // hash state and a resumed session: 64 MiB chunks made a cold push of a 134 MB image ~5% slower than
      // one PUT (bench/README.md, "whole"), as 16 MiB had been ~25% slower than 64. Larger layers still
      // go in chunks, so a failure costs at most 512 MiB to send again.
      chunkSize: positive(opts.chunkSize, "chunkSize", 512 << 20, 1024),
      retryBaseDelayMs: positive(opts.retryBaseDelayMs, "retryBaseDelayMs", 200, 0),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    };
    this.insecure = new Set(opts.insecureRegistries ?? []);
    this.caFiles = { ...opts.caFiles };
    const env = opts.env ?? readEnvConfig();
    this.base = new BaseTransport({ caFiles: this.caFiles, extraCaFile: env.extraCaCerts, insecureHosts: (h) => this.insecure.has(h) || isLoopbackHost(h), onRequest: opts.onRequest });
    const ua = opts.userAgent ?? DEFAULT_USER_AGENT;
    const retry = { retries: this.config.retries, baseDelayMs: this.config.retryBaseDelayMs };
    const wire = withRedirects(withSchemeFallback(this.base.roundTrip, this.httpsHosts));
    const tokenTransport = withUserAgent(withRetry(wire, retry), ua);
    const auth = new Authenticator({ explicit: opts.auth, authFile: opts.authFile, dockerConfigDir: opts.dockerConfigDir, env }, tokenTransport);
    const authed = withRetry(withAuth(wire, auth), retry);
    this.rt = withUserAgent(opts.onWarning ? withWarnings(authed, opts.onWarning) : authed, ua);
  }

  /**
   * `http(s)://host[:port]` of a registry's API: plain HTTP for loopback and
   * insecure hosts unless a CA file is given for them or they turned out to
   * speak TLS (then HTTPS without verification, like docker's insecure registries).
   */
  endpoint(registry: string): URL {
    const host = apiHost(registry);
    const plain = !this.caFiles[host] && !this.httpsHosts.has(host) && (this.insecure.has(host) || this.insecure.has(registry) || isLoopbackHost(host));
    return new URL(`${plain ? "http" : "https"}://${host}`);
  }

  /** A URL under `/v2/<repository>/`. */
  repoUrl(ref: Reference, path: string): URL {
    return new URL(`/v2/${ref.repository}/${path}`, this.endpoint(ref.registry));
  }

  /** Sends one request through the transport stack. */
  send(req: HttpRequest, signal?: AbortSignal): Promise<HttpResponse> {
    if (signal?.aborted) return Promise.reject(new LadingError("CANCELLED", "registry request cancelled", { cause: signal.reason }));
    return this.rt(req, signal);
  }

  /** Resolves a reference to the descriptor of its manifest or index (HEAD, falling back to GET). */
  async resolve(ref: Reference, signal?: AbortSignal): Promise<Descriptor> {
    const { resolveManifest } = await import("./manifest.js");
    return resolveManifest(this, ref, signal);
  }

  /**
   * Pulls into `store`: manifest (or index → the platform's manifest), config
   * and layers, every blob verified against digest and size before it lands;
   * layers in parallel (bounded), resuming with Range after a broken connection.
   * On failure the store holds only complete, verified blobs (no name is set).
   */
  async pull(ref: Reference, store: RegistryStore, opts: { platform?: Platform; signal?: AbortSignal } = {}): Promise<{ manifest: Descriptor; index?: Descriptor }> {
    const { pullImage } = await import("./pull.js");
    return pullImage(this, ref, store, opts);
  }

  /**
   * Pushes the manifest or index `root` (already in `store`) and everything it
   * references to `ref`: blobs first, manifest last. Returns the pushed digest.
   * On failure some blobs may be in the registry, but no tag changed.
   */
  async push(store: RegistryStore, root: Descriptor, ref: Reference, opts: { signal?: AbortSignal } = {}): Promise<Digest> {
    const { pushImage } = await import("./push.js");
    return pushImage(this, store, root, ref, opts.signal);
  }

  /** GETs one manifest (or any JSON the manifest endpoint serves) by tag or digest, verified, without storing it. */
  async fetchManifest(ref: Reference, reference: string, signal?: AbortSignal): Promise<{ descriptor: Descriptor; bytes: Buffer }> {
    const { fetchManifest } = await import("./manifest.js");
    return fetchManifest(this, ref, reference, signal);
  }

  /** Downloads one blob of `ref`'s repository into `store`, verified against `desc` (nothing when it is there already). */
  async fetchBlob(ref: Reference, desc: Descriptor, store: RegistryStore, signal?: AbortSignal): Promise<"fetched" | "present"> {
    const { fetchBlob } = await import("./blob-fetch.js");
    return fetchBlob(this, ref, desc, store, signal);
  }

  async close(): Promise<void> {
    await this.base.close();
  }
}
