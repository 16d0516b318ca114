/**
 * The innermost layer: one HTTP exchange through undici, with the TLS
 * settings of the target host (per-registry CA file, or no verification for
 * registries the user listed as insecure). Nothing here retries, follows
 * redirects or authenticates.
 */
import { readFileSync } from "node:fs";
import type { Agent, Dispatcher } from "undici";
import { LadingError } from "../../errors.js";
import { extraCaContext } from "./extra-ca.js";
import type { HttpRequest, HttpResponse, RoundTrip } from "./types.js";
import { pinParserTier, undici } from "./undici-lite.js";

export interface BaseTransportOptions {
  /** `host[:port]` → PEM file of the CA that signs that registry's certificate. */
  caFiles?: Record<string, string>;
  /** A PEM file of CAs trusted beside node's own roots (LADING_EXTRA_CA_CERTS: see extra-ca.ts). */
  extraCaFile?: string;
  /** Hosts whose HTTPS certificate is not verified (they also default to plain HTTP, see endpoint.ts). */
  insecureHosts?: (host: string) => boolean;
  /** Observes every exchange that goes on the wire (method and URL without credentials). */
  onRequest?: (info: { method: string; url: string }) => void;
}

export class BaseTransport {
  private readonly agents = new Map<string, Agent>();
  private readonly caCache = new Map<string, string>();
  constructor(private readonly opts: BaseTransportOptions) {}

  readonly roundTrip: RoundTrip = async (req: HttpRequest, signal?: AbortSignal): Promise<HttpResponse> => {
    const url = req.url;
    this.opts.onRequest?.({ method: req.method, url: redactUrl(url) });
    const dispatcher = this.agentFor(url);
    const body = req.body?.();
    const { request } = undici();
    const unpin = pinParserTier();
    try {
      const res = await request.call(dispatcher, {
        origin: url.origin,
        path: url.pathname + url.search,
        method: req.method,
        headers: req.headers ?? {},
        body: body as Dispatcher.DispatchOptions["body"],
        // undici closes the connection after every HEAD, in case a broken server sends a body anyway;
        // registries answer HEAD by the spec, and a push's HEADs (one per blob) then reuse their connections.
        ...(req.method === "HEAD" ? { reset: false } : {}),
        signal,
      });
      unpin?.(true);
      return { statusCode: res.statusCode, headers: res.headers as HttpResponse["headers"], body: res.body as HttpResponse["body"], url };
    } catch (err) {
      unpin?.(false);
      if (body && typeof (body as { destroy?: unknown }).destroy === "function") (body as { destroy(): void }).destroy();
      const code = (err as NodeJS.ErrnoException).code ?? "";
      if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/.test(code)) {
        throw new LadingError(
          "NETWORK",
          `TLS to ${url.host} failed (${code}): ${(err as Error).message}; give the registry's CA (caFiles / NODE_EXTRA_CA_CERTS) or list it as an insecure registry`,
          { cause: err },
        );
      }
      throw err;
    }
  };

  private agentFor(url: URL): Agent {
    const host = url.host;
    let key = "default";
    let connect: Record<string, unknown> = {};
    if (url.protocol === "https:") {
      const caFile = this.opts.caFiles?.[host];
      if (caFile) {
        key = `ca:${caFile}`;
        connect = { ca: this.readCa(caFile, host) };
      } else if (this.opts.insecureHosts?.(host)) {
        key = "insecure";
        connect = { rejectUnauthorized: false };
      } else {
        const secureContext = this.opts.extraCaFile ? extraCaContext(this.opts.extraCaFile) : undefined;
        if (secureContext) {
          key = "extra-ca";
          connect = { secureContext };
        }
      }
    }
    let agent = this.agents.get(key);
    if (!agent) {
      agent = new (undici().Agent)({ connect, keepAliveTimeout: 10_000 });
      this.agents.set(key, agent);
    }
    return agent;
  }

  private readCa(file: string, host: string): string {
    let pem = this.caCache.get(file);
    if (pem === undefined) {
      try {
        pem = readFileSync(file, "utf8");
      } catch (err) {
        throw new LadingError("INVALID_ARGUMENT", `cannot read the CA file ${file} given for registry ${host}: ${(err as Error).message}`, { cause: err });
      }
      this.caCache.set(file, pem);
    }
    return pem;
  }

  async close(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.close().catch(() => {})));
    this.agents.clear();
  }
}

/** A URL fit for logs and errors: no user info, and no query (upload URLs carry opaque session state). */
export function redactUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}
