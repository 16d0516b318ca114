/**
 * Starts Debian's real `docker-registry` (distribution 2.8) on 127.0.0.1 with
 * a temp config and storage: plain, with htpasswd basic auth, with TLS from a
 * CA made here by openssl, or with token auth against a small token server
 * run in this process (JWTs signed RS256 with a key made here; the registry
 * trusts its self-signed certificate through `rootcertbundle`). `stop()`
 * kills the registry by its PID and removes every file.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { createSign, randomBytes, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { connect, createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import bcrypt from "bcryptjs";
import "./isolated-home.js";

export const REGISTRY_BIN = "/usr/bin/docker-registry";

export interface TokenRequestLog {
  method: string;
  scopes: string[];
  user?: string;
  service?: string;
}

export interface RegistryHandle {
  /** "127.0.0.1:PORT" */
  host: string;
  /** "http://127.0.0.1:PORT" or "https://…" */
  url: string;
  /** PEM of the CA that signed the TLS certificate (tls: true). */
  caFile?: string;
  /** Every request the token server answered (token: true). */
  tokenRequests: TokenRequestLog[];
  /** The registry's process id (its CPU time is in /proc/PID/stat). */
  pid: number;
  /** Each request the registry completed, in the order it logged them (requestLog: true; else none). */
  requests(): RegistryRequest[];
  stop(): Promise<void>;
}

/** One request as the registry logged it: `start` is `end` less the duration it measured (epoch ms). */
export interface RegistryRequest {
  method: string;
  uri: string;
  status: number;
  start: number;
  end: number;
}

export interface StartRegistryOptions {
  /** Log each completed request (level info, JSON) for `requests()`: benches time a client's exchanges by them. */
  requestLog?: boolean;
  htpasswd?: { user: string; pass: string };
  tls?: boolean;
  /** Token auth; `user`/`pass` are the credentials the token server accepts. Anonymous callers get pull only when anonymousPull. */
  token?: boolean | { user: string; pass: string; anonymousPull?: boolean };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString("base64url");
}

async function startTokenServer(dir: string, service: string, issuer: string, creds: { user: string; pass: string; anonymousPull?: boolean }, log: TokenRequestLog[]): Promise<{ server: Server; realm: string; bundle: string }> {
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "token.key", "-out", "token.pem", "-days", "2", "-subj", "/CN=lading-test-token"], dir);
  const key = readFileSync(join(dir, "token.key"), "utf8");
  const certDer = new X509Certificate(readFileSync(join(dir, "token.pem"))).raw;
  const server = createServer((req, res) => {
    if (req.method === "POST") {
      // OAuth2 refresh-token grant (distribution token spec, oauth.md): the refresh token is `refresh-<user>`.
      let form = "";
      req.on("data", (c) => (form += c));
      req.on("end", () => {
        const f = new URLSearchParams(form);
        const scopes = (f.get("scope") ?? "").split(" ").filter(Boolean);
        const ok = f.get("grant_type") === "refresh_token" && f.get("refresh_token") === `refresh-${creds.user}`;
        log.push({ method: "POST", scopes, user: ok ? creds.user : undefined, service: f.get("service") ?? undefined });
        if (!ok) return void res.writeHead(401).end();
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ access_token: issue(creds.user, scopes), expires_in: 300, scope: scopes.join(" ") }));
      });
      return;
    }
    const url = new URL(req.url ?? "/", "http://x");
    const authz = req.headers.authorization;
    let user: string | undefined;
    if (authz?.startsWith("Basic ")) {
      const [u, ...p] = Buffer.from(authz.slice(6), "base64").toString().split(":");
      if (u !== creds.user || p.join(":") !== creds.pass) {
        log.push({ method: req.method ?? "", scopes: url.searchParams.getAll("scope"), user: u, service: url.searchParams.get("service") ?? undefined });
        res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "bad credentials" }] }));
        return;
      }
      user = u;
    }
    const scopes = url.searchParams.getAll("scope");
    log.push({ method: req.method ?? "", scopes, user, service: url.searchParams.get("service") ?? undefined });
    if (req.method !== "GET" || url.pathname !== "/token") {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token: issue(user, scopes), expires_in: 300, issued_at: new Date().toISOString() }));
  });
  function issue(user: string | undefined, scopes: string[]): string {
    const access = scopes.flatMap((s) => s.split(" ")).filter(Boolean).map((s) => {
      const parts = s.split(":");
      const actions = parts.pop()!.split(",");
      const type = parts.shift()!;
      const granted = user ? actions : creds.anonymousPull ? actions.filter((a) => a === "pull") : [];
      return { type, name: parts.join(":"), actions: granted };
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: "JWT", alg: "RS256", x5c: [certDer.toString("base64")] };
    const claims = { iss: issuer, sub: user ?? "", aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString("hex"), access };
    const signing = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = createSign("RSA-SHA256").update(signing).sign(key);
    return `${signing}.${b64url(sig)}`;
  }
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return { server, realm: `http://127.0.0.1:${port}/token`, bundle: join(dir, "token.pem") };
}

/** A CA of its own in `dir` (ca.pem), and a server certificate it signs for `ip`. */
export function makeTls(dir: string, ip = "127.0.0.1"): { cert: string; key: string; ca: string } {
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=lading-test-ca"], dir);
  openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", `/CN=${ip}`], dir);
  writeFileSync(join(dir, "san.ext"), `subjectAltName=IP:${ip}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.ext"], dir);
  return { cert: join(dir, "server.pem"), key: join(dir, "server.key"), ca: join(dir, "ca.pem") };
}

/** Waits until `child` listens on `port` on 127.0.0.1 (or on the unix socket `port` names); fails with the tail of `errFile` if it exits first. */
export async function waitForPort(port: number | string, child: ChildProcess, errFile: string, name = "docker-registry"): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${readFileSync(errFile, "utf8").slice(-2000)}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = typeof port === "number" ? connect(port, "127.0.0.1") : connect(port);
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${name} did not listen on ${typeof port === "number" ? `127.0.0.1:${port}` : port}`);
}

export async function startRegistry(opts: StartRegistryOptions = {}): Promise<RegistryHandle> {
  const dir = mkdtempSync(join(process.env.LADING_TEST_TMP ?? tmpdir(), "lading-registry-"));
  const port = await freePort();
  const tokenRequests: TokenRequestLog[] = [];
  let tokenServer: Server | undefined;
  const lines = [
    "version: 0.1",
    "log:",
    ...(opts.requestLog ? ["  level: info", "  formatter: json"] : ["  level: error"]),
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${join(dir, "data")}`,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString("hex")}`,
  ];
  let caFile: string | undefined;
  if (opts.tls) {
    const t = makeTls(dir);
    caFile = t.ca;
    lines.push("  tls:", `    certificate: ${t.cert}`, `    key: ${t.key}`);
  }
  if (opts.htpasswd) {
    writeFileSync(join(dir, "htpasswd"), `${opts.htpasswd.user}:${bcrypt.hashSync(opts.htpasswd.pass, 4)}\n`);
    lines.push("auth:", "  htpasswd:", "    realm: lading-test", `    path: ${join(dir, "htpasswd")}`);
  } else if (opts.token) {
    const creds = opts.token === true ? { user: "alice", pass: "wonderland", anonymousPull: true } : opts.token;
    const t = await startTokenServer(dir, "lading-test-registry", "lading-test-issuer", creds, tokenRequests);
    tokenServer = t.server;
    lines.push("auth:", "  token:", `    realm: ${t.realm}`, "    service: lading-test-registry", "    issuer: lading-test-issuer", `    rootcertbundle: ${t.bundle}`);
  }
  writeFileSync(join(dir, "config.yml"), lines.join("\n") + "\n");
  const errFile = join(dir, "registry.log");
  writeFileSync(errFile, "");
  const { openSync } = await import("node:fs");
  const fd = openSync(errFile, "a");
  const child = spawn(REGISTRY_BIN, ["serve", join(dir, "config.yml")], { stdio: ["ignore", fd, fd], env: registryEnv() });
  const stop = async (): Promise<void> => {
    // A child ended by a signal has a null exitCode but a signalCode: then there is nothing left to stop.
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      const exited = new Promise((r) => child.once("exit", r));
      process.kill(child.pid, "SIGTERM");
      const t = setTimeout(() => child.pid && child.exitCode === null && child.signalCode === null && process.kill(child.pid, "SIGKILL"), 3000);
      await exited;
      clearTimeout(t);
    }
    if (tokenServer) await new Promise((r) => tokenServer!.close(r));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, child, errFile);
  } catch (err) {
    await stop();
    throw err;
  }
  const host = `127.0.0.1:${port}`;
  const requests = (): RegistryRequest[] => (opts.requestLog ? parseRequestLog(readFileSync(errFile, "utf8")) : []);
  return { host, url: `${opts.tls ? "https" : "http"}://${host}`, ...(caFile ? { caFile } : {}), tokenRequests, pid: child.pid!, requests, stop };
}

/** The "response completed…" lines of distribution's JSON log: its time has nanoseconds, its duration a Go unit. */
function parseRequestLog(text: string): RegistryRequest[] {
  const unit: Record<string, number> = { ns: 1e-6, "µs": 1e-3, us: 1e-3, ms: 1, s: 1000 };
  const out: RegistryRequest[] = [];
  for (const line of text.split("\n")) {
    // A 4xx answer is logged as "response completed with error".
    if (!line.startsWith("{") || !line.includes('"msg":"response completed')) continue;
    const j = JSON.parse(line) as Record<string, string | number>;
    const time = String(j.time);
    const frac = /\.(\d+)Z$/.exec(time)?.[1] ?? "0";
    const end = Date.parse(time.replace(/\.\d+Z$/, "Z")) + Number(`0.${frac}`) * 1000;
    const d = /^([\d.]+)(ns|µs|us|ms|s)$/.exec(String(j["http.response.duration"]));
    const dur = d ? Number(d[1]) * unit[d[2]!]! : 0;
    out.push({ method: String(j["http.request.method"]), uri: String(j["http.request.uri"]), status: Number(j["http.response.status"]), start: end - dur, end });
  }
  return out;
}

/** docker-registry reads every REGISTRY_* variable as configuration (REGISTRY_AUTH_FILE would become auth.file): none of the test's own pass through. */
function registryEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { OTEL_TRACES_EXPORTER: "none" };
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("REGISTRY_")) env[k] = v;
  return env;
}
