/**
 * Retries temporary failures: connection errors before a response, and
 * 408/429/5xx answers (except 501, which will not change). Exponential
 * backoff with full jitter, capped; a `Retry-After` the registry sends wins
 * (distribution-rules §1). After the last try the caller gets the last
 * response (to turn into a RegistryError) or a NETWORK error.
 */
import { LadingError } from "../../errors.js";
import { redactUrl } from "./base.js";
import { discard, header, type RoundTrip } from "./types.js";

export interface RetryOptions {
  /** Extra tries after the first. */
  retries: number;
  /** First backoff in ms; doubles per try. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** The longest Retry-After honoured, in ms (a registry asking for an hour gets a clear error instead). */
  maxRetryAfterMs?: number;
}

const TEMPORARY_STATUS = (s: number): boolean => s === 408 || s === 429 || (s >= 500 && s !== 501 && s !== 505);

const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CLOSED",
]);

/** Whether an error thrown by the transport is a broken or failed connection worth another try. */
export function isNetworkError(err: unknown): boolean {
  for (let e = err as { code?: string; cause?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    if (e.code && NETWORK_CODES.has(e.code)) return true;
  }
  return false;
}

export function withRetry(next: RoundTrip, opts: RetryOptions): RoundTrip {
  const base = opts.baseDelayMs ?? 200;
  const max = opts.maxDelayMs ?? 10_000;
  const maxRetryAfter = opts.maxRetryAfterMs ?? 60_000;
  return async (req, signal) => {
    const tries = req.noRetry ? 1 : opts.retries + 1;
    for (let attempt = 1; ; attempt++) {
      let res;
      try {
        res = await next(req, signal);
      } catch (err) {
        if (signal?.aborted) throw cancelled(signal, err);
        if (!isNetworkError(err) || attempt >= tries) {
          if (isNetworkError(err)) {
            throw new LadingError("NETWORK", `${req.method} ${redactUrl(req.url)}: connection failed after ${attempt} tries: ${(err as Error).message}`, { cause: err });
          }
          throw err;
        }
        await sleep(backoff(attempt, base, max), signal);
        continue;
      }
      if (!TEMPORARY_STATUS(res.statusCode) || attempt >= tries) return res;
      const after = retryAfterMs(header(res, "retry-after"));
      if (after !== undefined && after > maxRetryAfter) return res;
      await discard(res);
      await sleep(after ?? backoff(attempt, base, max), signal);
    }
  };
}

function backoff(attempt: number, base: number, max: number): number {
  // Full jitter (AWS architecture blog, "Exponential Backoff And Jitter"): spreads clients apart.
  return Math.random() * Math.min(max, base * 2 ** (attempt - 1)) + base / 2;
}

/** Retry-After is delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function retryAfterMs(v: string | undefined): number | undefined {
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}

function cancelled(signal: AbortSignal, cause: unknown): LadingError {
  return new LadingError("CANCELLED", "registry request cancelled", { cause: signal.reason ?? cause });
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled(signal, undefined));
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(cancelled(signal!, undefined));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
