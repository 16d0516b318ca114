import type { RoundTrip } from "./types.js";

/** Sets `User-Agent` on every request (gcr transport/useragent.go). */
export function withUserAgent(next: RoundTrip, userAgent: string): RoundTrip {
  return (req, signal) => next({ ...req, headers: { ...req.headers, "user-agent": userAgent } }, signal);
}
