/**
 * The round-trip contract every transport layer speaks (the shape of
 * go-containerregistry's `http.RoundTripper` stack in remote/transport):
 * user agent → retry → auth → redirect → undici. Each layer wraps the next
 * one and adds exactly one concern, so none of them branches on another's.
 */
import type { Readable } from "node:stream";

export type Headers = Record<string, string>;

export interface HttpRequest {
  method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
  url: URL;
  headers?: Headers;
  /**
   * A factory for the body, called once per attempt, so retries, auth
   * challenges and redirects can send it again (a shared one-shot stream
   * could not be replayed).
   */
  body?: () => Readable | Buffer | string;
  /** Token scopes this request needs (`repository:a/b:pull,push`); the auth layer asks for them. */
  scopes?: readonly string[];
  /** Set on requests that must not be retried by the transport (the caller resumes them itself). */
  noRetry?: boolean;
}

export interface HttpResponse {
  statusCode: number;
  /** Lower-case names; a repeated header is an array. */
  headers: Record<string, string | string[] | undefined>;
  /** Must always be consumed or dumped (undici keeps the connection otherwise). */
  body: Readable & { dump(opts?: { limit: number }): Promise<void> };
  /** The URL that answered (after redirects): relative `Location`s resolve against it. */
  url: URL;
}

export type RoundTrip = (req: HttpRequest, signal?: AbortSignal) => Promise<HttpResponse>;

export function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export function headerAll(res: HttpResponse, name: string): string[] {
  const v = res.headers[name.toLowerCase()];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** Discards a response body we do not need, so its connection goes back to the pool. */
export async function discard(res: HttpResponse): Promise<void> {
  await res.body.dump({ limit: 1 << 20 }).catch(() => {});
}
