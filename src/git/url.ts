/**
 * Git remote addresses: which strings are git sources, their display form
 * (credentials never shown), and docker's `url#ref:subdir` fragments.
 * A password or token written into an http URL is taken out of it here,
 * so that the URL lading passes to git (on its argv, which every local
 * user can read in /proc/PID/cmdline) and keeps in ops, keys and pins
 * never carries it.
 */
import { LadingError } from "../errors.js";

export interface GitRemote {
  /** The address git is given and lading shows: no password anywhere, no userinfo at all for http(s). */
  url: string;
  /** "https", "http", "ssh", "git" (scp-like `git@host:path` is "ssh"). */
  protocol: "https" | "http" | "ssh" | "git";
  /** host[:port] as git's credential protocol names it. */
  host: string;
  /** `user:password` taken out of an http(s) URL, to send as basic auth; never shown. */
  userinfo?: { username: string; password: string };
}

/** `user@host:path` (scp-like: a colon before any slash, and no scheme). */
const SCP_LIKE = /^([A-Za-z0-9._~-]+@)?([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(?!\/\/)(.+)$/;

/**
 * Whether `s` names a git repository the way BuildKit's ADD and build
 * context tell one (gitutil.IsGitTransport): ssh://, git://, scp-like
 * `git@host:path`, or an http(s) URL whose path ends in `.git`.
 */
export function isGitAddress(s: string): boolean {
  const base = s.split("#")[0]!;
  if (/^(ssh|git):\/\//.test(base)) return true;
  if (/^https?:\/\//.test(base)) {
    try {
      return new URL(base).pathname.replace(/\/+$/, "").endsWith(".git");
    } catch {
      return false;
    }
  }
  return /^[A-Za-z0-9._~-]+@/.test(base) && SCP_LIKE.test(base);
}

/** Parses a remote address; credentials in an http(s) URL come out as `userinfo`. */
export function parseRemote(address: string): GitRemote {
  if (!address) throw new LadingError("INVALID_ARGUMENT", "a git repository needs a URL");
  if (/[\s]/.test(address)) throw new LadingError("INVALID_ARGUMENT", `git URL ${JSON.stringify(redactText(address))} contains whitespace`);
  const scp = !address.includes("://") ? SCP_LIKE.exec(address) : null;
  if (scp) return { url: address, protocol: "ssh", host: scp[2]! };
  let u: URL;
  try {
    u = new URL(address);
  } catch (err) {
    throw new LadingError("INVALID_ARGUMENT", `${JSON.stringify(redactText(address))} is not a git URL: use https://host/path.git, ssh://[user@]host/path or user@host:path`, { cause: err });
  }
  const protocol = u.protocol.slice(0, -1);
  if (protocol !== "https" && protocol !== "http" && protocol !== "ssh" && protocol !== "git") {
    throw new LadingError("INVALID_ARGUMENT", `git URL ${redactText(address)}: unsupported scheme ${u.protocol} (use https, http, ssh or git)`);
  }
  if (u.search || u.hash) throw new LadingError("INVALID_ARGUMENT", `git URL ${redactText(address)}: a query or #fragment is not part of a repository's address`);
  let userinfo: GitRemote["userinfo"];
  if (protocol === "http" || protocol === "https") {
    if (u.username || u.password) userinfo = { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) };
    u.username = "";
    u.password = "";
  } else {
    // ssh takes no password from the URL; the user name picks the account and stays.
    u.password = "";
  }
  return { url: u.toString(), protocol, host: u.host, ...(userinfo ? { userinfo } : {}) };
}

/** Removes userinfo from every URL in `text` (for messages that quote git's own output or a bad address). */
export function redactText(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/@\s'"]*@/gi, "$1");
}

/** A git source as docker writes it: `<url>#<ref>:<subdir>`, both parts optional. */
export interface GitSourceSpec {
  url: string;
  /** What stood after `#` and before `:` (a branch, tag, ref or commit); undefined: the remote's HEAD. */
  ref?: string;
  /** What stood after `:` in the fragment: the directory inside the repository. */
  subdir?: string;
}

/** Splits docker's `url#ref:subdir` form (BuildKit's `ADD`, build context and --build-context). */
export function parseGitSource(source: string): GitSourceSpec {
  const hash = source.indexOf("#");
  if (hash < 0) return { url: source };
  const url = source.slice(0, hash);
  const fragment = source.slice(hash + 1);
  const colon = fragment.indexOf(":");
  const ref = colon < 0 ? fragment : fragment.slice(0, colon);
  const subdir = colon < 0 ? undefined : fragment.slice(colon + 1);
  return { url, ...(ref ? { ref } : {}), ...(subdir ? { subdir } : {}) };
}
