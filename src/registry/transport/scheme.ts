/**
 * Plain HTTP is the default for loopback and insecure registries (docker
 * does the same), but such a registry may well speak TLS. Go's server
 * answers a plain request on a TLS port with `400 Client sent an HTTP
 * request to an HTTPS server`; on that answer this layer marks the host as
 * HTTPS (remembered for the client's lifetime, and read by
 * `RegistryClient.endpoint`) and sends the request again over HTTPS.
 */
import { Readable } from "node:stream";
import type { HttpResponse, RoundTrip } from "./types.js";

const TLS_PORT_ANSWER = "HTTP request to an HTTPS server";

export function withSchemeFallback(next: RoundTrip, httpsHosts: Set<string>): RoundTrip {
  return async (req, signal) => {
    const url = req.url.protocol === "http:" && httpsHosts.has(req.url.host) ? new URL(req.url.href.replace(/^http:/, "https:")) : req.url;
    const res = await next(url === req.url ? req : { ...req, url }, signal);
    if (res.statusCode !== 400 || url.protocol !== "http:") return res;
    const body = await readAll(res);
    // A HEAD answer has no body to tell; ask GET /v2/ on the same port instead.
    const telling = req.method === "HEAD" ? await readAll(await next({ method: "GET", url: new URL("/v2/", url) }, signal)) : body;
    if (telling.toString("utf8").includes(TLS_PORT_ANSWER)) {
      httpsHosts.add(url.host);
      return next({ ...req, url: new URL(url.href.replace(/^http:/, "https:")) }, signal);
    }
    return { ...res, body: replayable(body) };
  };
}

async function readAll(res: HttpResponse): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res.body as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

function replayable(body: Buffer): HttpResponse["body"] {
  const r = Readable.from([body]) as HttpResponse["body"];
  r.dump = async () => {
    r.resume();
  };
  return r;
}
