/**
 * Turns an unexpected registry answer into a RegistryError: status, method,
 * redacted URL and the OCI `errors[]` diagnostics when the body is JSON
 * (bodies may also be HTML or plain text, distribution-rules §7). The body is
 * read up to 64 KiB, as gcr does.
 */
import { RegistryError } from "../../errors.js";
import { redactUrl } from "./base.js";
import type { HttpRequest, HttpResponse } from "./types.js";

const MAX_ERROR_BODY = 64 * 1024;

export async function registryError(req: Pick<HttpRequest, "method" | "url">, res: HttpResponse, what: string): Promise<RegistryError> {
  let text = "";
  try {
    for await (const chunk of res.body) {
      text += chunk;
      if (text.length >= MAX_ERROR_BODY) {
        res.body.destroy();
        break;
      }
    }
  } catch {
    // the body is only diagnostics; a broken one still leaves the status
  }
  let diagnostics: Array<{ code: string; message?: string; detail?: unknown }> = [];
  try {
    const json = JSON.parse(text) as { errors?: Array<{ code?: unknown; message?: unknown; detail?: unknown }> };
    if (Array.isArray(json.errors)) {
      diagnostics = json.errors.map((e) => ({
        code: String(e.code ?? "UNKNOWN"),
        ...(typeof e.message === "string" ? { message: e.message } : {}),
        ...(e.detail !== undefined ? { detail: e.detail } : {}),
      }));
    }
  } catch {
    // not JSON: keep a short plain-text excerpt
  }
  const url = redactUrl(res.url ?? req.url);
  const diag = diagnostics.map((d) => `${d.code}${d.message ? ": " + d.message : ""}`).join("; ");
  const plain = !diag && text.trim() && !text.trimStart().startsWith("<") ? text.trim().slice(0, 200) : "";
  const hint =
    res.statusCode === 401
      ? "; log in with `lading login " + req.url.host + "` or pass credentials"
      : res.statusCode === 403
        ? "; the credentials lack permission for this repository"
        : res.statusCode === 429
          ? "; the registry is rate limiting, try again later"
          : "";
  const message = `${what}: ${req.method} ${url} answered ${res.statusCode}${diag ? ` (${diag})` : plain ? ` (${plain})` : ""}${hint}`;
  return new RegistryError({ statusCode: res.statusCode, method: req.method, url, diagnostics, message });
}
