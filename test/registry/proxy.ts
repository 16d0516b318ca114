/**
 * A fault-injecting HTTP proxy on loopback in front of the real registry.
 * `hook` sees each request first and may answer it itself (an error status,
 * a reset, a redirect, a truncated or altered body); otherwise it is
 * forwarded unchanged and the answer streamed back.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";

export interface ProxyHandle {
  host: string;
  /** Every request seen: "METHOD path" (with query), plus its headers. */
  seen: Array<{ method: string; path: string; headers: IncomingMessage["headers"] }>;
  /** TCP connections accepted, HTTP or not (a TLS hello would never show in `seen`). */
  readonly connections: number;
  stop(): Promise<void>;
}

export type Hook = (req: IncomingMessage, res: ServerResponse, ctx: { forward: (opts?: { transform?: (body: Buffer) => Buffer; cutAfter?: number }) => void; count: (key: string) => number }) => boolean | void;

export async function startProxy(target: string, hook: Hook = () => false, bind = "127.0.0.1"): Promise<ProxyHandle> {
  const seen: ProxyHandle["seen"] = [];
  const counters = new Map<string, number>();
  const count = (key: string): number => {
    const n = (counters.get(key) ?? 0) + 1;
    counters.set(key, n);
    return n;
  };
  const server: Server = createServer((req, res) => {
    seen.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers });
    const forward = (opts: { transform?: (body: Buffer) => Buffer; cutAfter?: number } = {}): void => {
      const [host, port] = target.split(":");
      const up = request({ host, port: Number(port), method: req.method, path: req.url, headers: { ...req.headers, host: target } }, (ur) => {
        const headers = { ...ur.headers };
        // Location headers pointing at the registry must point at the proxy instead.
        if (typeof headers.location === "string") headers.location = headers.location.replace(`//${target}`, `//${req.headers.host}`);
        if (opts.transform) {
          const chunks: Buffer[] = [];
          ur.on("data", (c: Buffer) => chunks.push(c));
          ur.on("end", () => {
            const body = opts.transform!(Buffer.concat(chunks));
            res.writeHead(ur.statusCode ?? 502, { ...headers, "content-length": String(body.length) }).end(body);
          });
          return;
        }
        res.writeHead(ur.statusCode ?? 502, headers);
        if (opts.cutAfter !== undefined) {
          let sent = 0;
          ur.on("data", (c: Buffer) => {
            if (sent >= opts.cutAfter!) return;
            const part = c.subarray(0, opts.cutAfter! - sent);
            sent += part.length;
            res.write(part);
            if (sent >= opts.cutAfter!) {
              ur.destroy();
              // end(), not destroy(): what was written still reaches the client, then the connection closes
              // early. The pause lets the client take the headers first; were the close to come with them,
              // undici would fail the request itself (retried whole by the transport), not its body.
              setTimeout(() => res.socket?.end(), 200);
            }
          });
          return;
        }
        ur.pipe(res);
      });
      up.on("error", () => res.socket?.destroy());
      req.pipe(up);
    };
    if (hook(req, res, { forward, count }) !== true) forward();
  });
  let connections = 0;
  server.on("connection", () => connections++);
  await new Promise<void>((r) => server.listen(0, bind, r));
  const port = (server.address() as { port: number }).port;
  return {
    host: `${bind}:${port}`,
    seen,
    get connections() {
      return connections;
    },
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
