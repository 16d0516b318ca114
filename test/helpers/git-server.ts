/**
 * A real git HTTP server on 127.0.0.1: Debian's lighttpd running
 * `git http-backend` as CGI (smart http, protocol v2), with basic auth
 * from a plain user file when asked, and an access log the tests count
 * requests in. Repositories are bare ones the tests make under `repos`.
 * `stop()` ends lighttpd by its PID and removes every file.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitForPort } from "./registry.js";
import "./isolated-home.js";

export const LIGHTTPD = "/usr/sbin/lighttpd";
const HTTP_BACKEND = "/usr/lib/git-core/git-http-backend";

export interface GitServer {
  /** `http://127.0.0.1:PORT/git`: a repository `name` is at `${base}/${name}.git`. */
  base: string;
  /** `127.0.0.1:PORT` */
  host: string;
  /** Where the bare repositories live. */
  repos: string;
  /** Lines of the access log so far (lighttpd is told to flush it first). */
  accessLog(): Promise<string[]>;
  stop(): Promise<void>;
}

/** `users`: accounts of basic auth (none: anonymous access). */
export async function startGitServer(opts: { users?: Array<{ user: string; pass: string }> } = {}): Promise<GitServer> {
  const dir = mkdtempSync(join(process.env.LADING_TEST_TMP ?? tmpdir(), "lading-git-server-"));
  const repos = join(dir, "repos");
  const www = join(dir, "www");
  mkdirSync(repos);
  mkdirSync(www);
  const port = await freePort();
  const log = join(dir, "access.log");
  const lines = [
    `server.port = ${port}`,
    `server.bind = "127.0.0.1"`,
    `server.document-root = "${www}"`,
    `server.errorlog = "${join(dir, "error.log")}"`,
    `accesslog.filename = "${log}"`,
    `server.modules = ( "mod_alias", "mod_setenv", "mod_auth", "mod_authn_file", "mod_cgi", "mod_accesslog" )`,
    `alias.url = ( "/git" => "${HTTP_BACKEND}" )`,
    `$HTTP["url"] =~ "^/git" {`,
    `  cgi.assign = ( "" => "" )`,
    `  setenv.set-environment = ( "GIT_PROJECT_ROOT" => "${repos}", "GIT_HTTP_EXPORT_ALL" => "1" )`,
    `}`,
  ];
  if (opts.users?.length) {
    writeFileSync(join(dir, "users"), opts.users.map((u) => `${u.user}:${u.pass}\n`).join(""), { mode: 0o600 });
    lines.push(`auth.backend = "plain"`, `auth.backend.plain.userfile = "${join(dir, "users")}"`, `auth.require = ( "/git/" => ( "method" => "basic", "realm" => "git", "require" => "valid-user" ) )`);
  }
  writeFileSync(join(dir, "lighttpd.conf"), lines.join("\n") + "\n");
  const out = openSync(join(dir, "lighttpd.out"), "a");
  const child = spawn(LIGHTTPD, ["-D", "-f", join(dir, "lighttpd.conf")], { stdio: ["ignore", out, out] });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      const exited = new Promise((r) => child.once("exit", r));
      process.kill(child.pid, "SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, child, join(dir, "lighttpd.out"), "lighttpd");
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    base: `http://127.0.0.1:${port}/git`,
    host: `127.0.0.1:${port}`,
    repos,
    async accessLog() {
      // SIGHUP makes lighttpd cycle its logs, which writes out what it buffered.
      process.kill(child.pid!, "SIGHUP");
      await new Promise((r) => setTimeout(r, 200));
      return existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean) : [];
    },
    stop,
  };
}

/** Runs git with a fixed identity and dates, so commits made by tests are the same on every run. */
export function gitIn(cwd: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "Lading Test",
      GIT_AUTHOR_EMAIL: "test@lading.invalid",
      GIT_COMMITTER_NAME: "Lading Test",
      GIT_COMMITTER_EMAIL: "test@lading.invalid",
      GIT_AUTHOR_DATE: "2024-01-02T03:04:05Z",
      GIT_COMMITTER_DATE: "2024-01-02T03:04:05Z",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      ...env,
    },
  }).trim();
}

/** A new bare repository `name.git` on the server, with `main` as HEAD. */
export function makeBareRepo(server: GitServer, name: string): string {
  const path = join(server.repos, `${name}.git`);
  gitIn(server.repos, ["init", "--quiet", "--bare", "--initial-branch=main", path]);
  return path;
}
