/**
 * `Warning: 299 - "text"` headers (distribution-rules §1): shown to the user
 * once each, and nothing else is done about them [M].
 */
import { headerAll, type RoundTrip } from "./types.js";

const WARNING_RE = /^\s*299\s+\S+\s+"((?:[^"\\]|\\.)*)"/;

export function withWarnings(next: RoundTrip, onWarning: (text: string) => void): RoundTrip {
  const seen = new Set<string>();
  return async (req, signal) => {
    const res = await next(req, signal);
    for (const h of headerAll(res, "warning").flatMap((v) => v.split(/,(?=\s*299\s)/))) {
      const text = WARNING_RE.exec(h)?.[1]?.replace(/\\(.)/g, "$1");
      if (text && !seen.has(text)) {
        seen.add(text);
        onWarning(text);
      }
    }
    return res;
  };
}
