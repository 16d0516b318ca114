/**
 * Follows redirects (registries may redirect any request; blob GETs often go
 * to object storage). distribution-rules §1 [M]: `Authorization` is never
 * forwarded to another host — a signed storage URL also fails with it.
 */
import { LadingError } from "../../errors.js";
import { discard, header, type RoundTrip } from "./types.js";

const MAX_REDIRECTS = 10;

export function withRedirects(next: RoundTrip): RoundTrip {
  return async (req, signal) => {
    let current = req;
    for (let hop = 0; ; hop++) {
      const res = await next(current, signal);
      const location = header(res, "location");
      if (![301, 302, 303, 307, 308].includes(res.statusCode) || !location) return res;
      await discard(res);
      if (hop >= MAX_REDIRECTS) {
        throw new LadingError("REGISTRY", `${req.method} ${req.url.host}${req.url.pathname}: more than ${MAX_REDIRECTS} redirects`);
      }
      const target = new URL(location, current.url);
      const headers = { ...current.headers };
      if (target.host !== current.url.host || target.protocol !== current.url.protocol) delete headers.authorization;
      // 303 (and 301/302 for POST, as browsers and Go do) turn into a GET without body.
      const toGet = res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && current.method === "POST");
      current = toGet ? { ...current, method: "GET", url: target, headers, body: undefined } : { ...current, url: target, headers };
    }
  };
}
