/**
 * What the registry operations (manifest.ts, pull.ts, push.ts, blob-*.ts,
 * referrers.ts) need of a client: its resolved settings, where a registry's
 * API is, and one request through the transport stack. They take this
 * rather than `RegistryClient` so that the client can load them while
 * they never import it back.
 */
import type { Digest } from "../oci/digest.js";
import type { HttpRequest, HttpResponse } from "./transport/types.js";
import type { Reference } from "./reference.js";

export interface ProgressEvent {
  kind: "blob" | "manifest";
  digest: Digest;
  bytes: number;
  total?: number;
  done?: boolean;
  skipped?: boolean;
  mounted?: boolean;
}

export interface ResolvedRegistryConfig {
  readonly concurrency: number;
  readonly retries: number;
  readonly chunkSize: number;
  readonly retryBaseDelayMs: number;
  readonly onProgress?: (e: ProgressEvent) => void;
}

export interface RegistryWire {
  readonly config: ResolvedRegistryConfig;
  /** `http(s)://host[:port]` of a registry's API. */
  endpoint(registry: string): URL;
  /** A URL under `/v2/<repository>/`. */
  repoUrl(ref: Reference, path: string): URL;
  /** Sends one request through the transport stack (auth, retry, redirects). */
  send(req: HttpRequest, signal?: AbortSignal): Promise<HttpResponse>;
}
export function pullScope(ref: Reference): string {
  return `repository:${ref.repository}:pull`;
}

export function pushScope(ref: Reference): string {
  return `repository:${ref.repository}:pull,push`;
}
