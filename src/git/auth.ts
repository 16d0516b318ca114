/**
 * How a git command authenticates, and what its failures mean.
 *
 * Over http(s), git itself asks the user's credential helpers (`git
 * credential fill`, with protocol, host and path, honouring
 * `credential.<url>.helper` and `useHttpPath`) when the server answers
 * 401, then tells them `approve` after a success and `reject` after a
 * refusal — exactly what `git clone` does, so helpers that cache or rotate
 * tokens behave. Lading lets git do that rather than filling credentials
 * itself: the password then never passes through lading's memory or a
 * second process. An explicit token or header (httpAuthToken,
 * httpAuthHeader, or userinfo written in the URL) comes first: it is sent
 * as an `http.<origin>.extraHeader` scoped to the repository's origin (a
 * submodule on another host never sees it), and the helpers are not asked.
 *
 * Over ssh, the agent at SSH_AUTH_SOCK (or the socket given) holds the
 * keys; host keys are checked (StrictHostKeyChecking=yes) against the
 * user's known_hosts or the ones given; BatchMode turns every prompt off.
 */
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LadingError } from "../errors.js";
import { runGit, type GitResult, type GitRunOptions } from "./command.js";
import type { GitRemote } from "./url.js";

export interface GitAuth {
  /** A whole Authorization header value (`Basic …`, `Bearer …`). */
  header?: string;
  /** A token, sent as basic auth with the user name `x-access-token` (as Dagger and GitHub do). */
  token?: string;
  /** The ssh agent socket; default $SSH_AUTH_SOCK. */
  sshAuthSocket?: string;
  /** known_hosts lines to check the server's host key against, instead of the user's files. */
  sshKnownHosts?: string;
}

/** What one git command against a remote needs: settings, variables, the secrets to scrub. */
export interface RemoteAccess {
  config: Array<[string, string]>;
  env: Record<string, string>;
  redact: string[];
  /** For error messages: what was tried (never a secret's value). */
  tried: string;
}

/**
 * The settings and variables for commands against `remote`. `privateDir`
 * (mode 0700, lading's own temp space) receives the known_hosts file when
 * one is given.
 */
export async function remoteAccess(remote: GitRemote, auth: GitAuth, privateDir: () => Promise<string>): Promise<RemoteAccess> {
  const config: Array<[string, string]> = [];
  const env: Record<string, string> = {};
  const redact: string[] = [];
  if (remote.protocol === "http" || remote.protocol === "https") {
    const header = explicitHeader(remote, auth);
    if (header) {
      const origin = `${remote.protocol}://${remote.host}/`;
      config.push([`http.${origin}.extraHeader`, `Authorization: ${header.value}`]);
      // An empty helper entry clears the list: the explicit secret is the one used, as asked.
      config.push(["credential.helper", ""]);
      redact.push(header.value, ...header.parts);
      return { config, env, redact, tried: header.what };
    }
    const helpers = await configuredHelpers(remote.url);
    // A shell helper's text may hold a secret, and sh quotes it ($0) in its own error messages.
    redact.push(...helpers.shellTexts);
    return { config, env, redact, tried: helpers.names.length ? `the git credential helpers configured for it (${helpers.names.join(", ")})` : "no credential helper (none is configured for it in git config) and no httpAuthToken" };
  }
  if (remote.protocol === "ssh") {
    const sock = auth.sshAuthSocket ?? process.env.SSH_AUTH_SOCK;
    if (sock) env.SSH_AUTH_SOCK = sock;
    let knownHosts: string | undefined;
    if (auth.sshKnownHosts !== undefined) {
      knownHosts = join(await privateDir(), "known_hosts");
      await writeFile(knownHosts, auth.sshKnownHosts.endsWith("\n") ? auth.sshKnownHosts : auth.sshKnownHosts + "\n", { mode: 0o600 });
      await chmod(knownHosts, 0o600);
    }
    const ssh = await sshCommand(knownHosts);
    if (ssh) env.GIT_SSH_COMMAND = ssh;
    return { config, env, redact, tried: `ssh keys from the agent at ${sock ?? "(no SSH_AUTH_SOCK set)"}, host keys from ${knownHosts ? "sshKnownHosts" : "~/.ssh/known_hosts"}` };
  }
  return { config, env, redact, tried: "anonymous access" };
}

function explicitHeader(remote: GitRemote, auth: GitAuth): { value: string; parts: string[]; what: string } | undefined {
  if (auth.header) return { value: auth.header, parts: [auth.header.replace(/^\S+\s+/, "")], what: "the httpAuthHeader given" };
  if (auth.token) {
    const b64 = Buffer.from(`x-access-token:${auth.token}`).toString("base64");
    return { value: `Basic ${b64}`, parts: [auth.token, b64], what: "the httpAuthToken given" };
  }
  if (remote.userinfo) {
    const { username, password } = remote.userinfo;
    const b64 = Buffer.from(`${username}:${password}`).toString("base64");
    return { value: `Basic ${b64}`, parts: [username, password, b64].filter((s) => s.length >= 4), what: "the credentials written in the URL" };
  }
  return undefined;
}

/**
 * The credential helpers git would ask for `url`, by name only: a shell
 * helper (`!…`) is shown as such, never its text, which may hold a secret.
 */
export async function configuredHelpers(url: string): Promise<{ names: string[]; shellTexts: string[] }> {
  const r = await runGit(["config", "--null", "--get-regexp", "^credential\\."]);
  const shellTexts: string[] = [];
  if (r.code !== 0) return { names: [], shellTexts };
  const out: string[] = [];
  for (const rec of r.stdout.split("\0")) {
    const nl = rec.indexOf("\n");
    if (nl < 0) continue;
    const key = rec.slice(0, nl);
    const value = rec.slice(nl + 1).trim();
    const m = /^credential\.(?:(.+)\.)?helper$/i.exec(key);
    if (!m) continue;
    if (m[1] && !urlMatches(m[1], url)) continue;
    if (value === "") {
      out.length = 0; // an empty entry resets the list, as git reads it
      continue;
    }
    if (value.startsWith("!")) shellTexts.push(value.slice(1).trim());
    out.push(value.startsWith("!") ? "a shell helper (!…)" : value.split(/\s+/)[0]!);
  }
  return { names: out, shellTexts };
}

/** git's credential URL matching, simplified: the pattern's scheme and host equal, its path a prefix. */
function urlMatches(pattern: string, url: string): boolean {
  try {
    const p = new URL(pattern);
    const u = new URL(url);
    return p.protocol === u.protocol && p.host === u.host && u.pathname.startsWith(p.pathname.replace(/\/?$/, p.pathname === "/" ? "/" : ""));
  } catch {
    return false;
  }
}

/** The ssh command for git: the user's own when they set one, else ssh with no prompts and strict host keys. */
async function sshCommand(knownHosts: string | undefined): Promise<string | undefined> {
  if (process.env.GIT_SSH_COMMAND || process.env.GIT_SSH) return undefined;
  if (!knownHosts) {
    const r = await runGit(["config", "--get", "core.sshCommand"]);
    if (r.code === 0 && r.stdout.trim()) return undefined;
  }
  const opts = ["-o BatchMode=yes", "-o StrictHostKeyChecking=yes"];
  if (knownHosts) opts.push(`-o UserKnownHostsFile=${shellQuote(knownHosts)}`, "-o GlobalKnownHostsFile=/dev/null");
  return `ssh ${opts.join(" ")}`;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The LadingError for a git command that failed against `remote`: AUTH
 * when credentials were missing or refused (naming the host and what was
 * tried), NOT_FOUND for a missing repository, NETWORK when the server
 * could not be reached.
 */
export function remoteError(what: string, remote: GitRemote, access: RemoteAccess, r: GitResult): LadingError {
  const text = r.stderr;
  const detail = lastLines(text);
  const host = remote.host;
  if (/terminal prompts disabled|could not read (Username|Password)|no credentials/i.test(text)) {
    return new LadingError("AUTH", `${what}: ${host} asked for credentials and none were found: tried ${access.tried}; lading never prompts. Set up a credential helper (git config --global credential.helper …, as for git clone), or pass httpAuthToken / httpAuthHeader${detail ? `\n${detail}` : ""}`);
  }
  if (/Authentication failed|returned error: 40[13]|HTTP Basic: Access denied|invalid credentials/i.test(text)) {
    return new LadingError("AUTH", `${what}: ${host} refused the credentials from ${access.tried} (git told the helpers to reject them)${detail ? `\n${detail}` : ""}`);
  }
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No (ED25519|RSA|ECDSA)? ?host key is known/i.test(text)) {
    return new LadingError("AUTH", `${what}: the ssh host key of ${host} is not a known one, so the connection was refused (host key checking stays on): add the host's key to ~/.ssh/known_hosts (ssh-keyscan, checked out of band) or pass sshKnownHosts${detail ? `\n${detail}` : ""}`);
  }
  if (/Permission denied \(|publickey/i.test(text)) {
    return new LadingError("AUTH", `${what}: ${host} refused the ssh login: tried ${access.tried}${detail ? `\n${detail}` : ""}`);
  }
  if (/Could not resolve host|Failed to connect|Connection refused|Connection timed out|Network is unreachable|Could not read from remote repository/i.test(text)) {
    return new LadingError("NETWORK", `${what}: cannot reach ${host}${detail ? `\n${detail}` : ""}`);
  }
  if (/not found|does not appear to be a git repository|returned error: 404/i.test(text)) {
    return new LadingError("NOT_FOUND", `${what}: no repository at ${remote.url}${detail ? `\n${detail}` : ""}`);
  }
  return new LadingError("NETWORK", `${what} failed (git exit code ${r.code})${detail ? `\n${detail}` : ""}`);
}

function lastLines(text: string): string {
  return text.trim().split("\n").slice(-4).map((l) => `  ${l}`).join("\n").trimEnd();
}

export type { GitRunOptions };
