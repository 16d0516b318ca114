/**
 * Byte relays between sockets: how traffic crosses between the host's
 * loopback and a session network without any route between them. A Unix
 * socket is a file, so both network namespaces can reach it; one side
 * listens on TCP in its own namespace and passes each connection through
 * the socket to the other side, which connects on in its namespace.
 */
import { createServer, connect, type Server, type Socket } from "node:net";

/** Pipes two sockets both ways; either one's end or error ends both. */
export function splice(a: Socket, b: Socket): void {
  const end = () => {
    a.destroy();
    b.destroy();
  };
  a.on("error", end).on("close", end);
  b.on("error", end).on("close", end);
  a.pipe(b);
  b.pipe(a);
}

/** Where a relay's connections go. */
export type RelayTarget = { path: string } | { host: string; port: number };

/**
 * A server that connects each accepted connection to `target`: listening
 * on `listen` (a Unix socket path or a TCP host and port; port 0 takes a
 * free one). Resolves once it listens.
 */
export function relayServer(listen: { path: string } | { host: string; port: number }, target: RelayTarget): Promise<Server> {
  const server = createServer((conn) => {
    conn.pause();
    const out = "path" in target ? connect(target.path) : connect(target.port, target.host);
    out.once("connect", () => conn.resume());
    splice(conn, out);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    const ready = () => {
      server.off("error", reject);
      server.on("error", () => {});
      resolve(server);
    };
    if ("path" in listen) server.listen(listen.path, ready);
    else server.listen(listen.port, listen.host, ready);
  });
}

/** Whether `host:port` accepts a TCP connection (closed at once). */
export function accepts(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}
