/**
 * Runs the real `git` CLI as a child process, so every transport, helper
 * and setting the user's git has works as it does for `git clone`. What
 * lading adds keeps a build from ever waiting on a person and keeps
 * secrets off what other users can read:
 * - no terminal: the child runs in a new session (setsid), so neither git,
 *   ssh nor a credential helper can open /dev/tty; GIT_TERMINAL_PROMPT=0,
 *   an empty GIT_ASKPASS and SSH_ASKPASS (an empty value turns askpass off
 *   rather than falling back to core.askPass), GCM_INTERACTIVE=never for
 *   Git Credential Manager;
 * - secrets (an http header) go in as GIT_CONFIG_COUNT/KEY_n/VALUE_n
 *   variables: /proc/PID/environ is readable by the process's owner only,
 *   while /proc/PID/cmdline (where `-c http.extraHeader=…` would land) is
 *   world-readable;
 * - variables that would point git at another repository than the one
 *   asked for (GIT_DIR, GIT_INDEX_FILE, …, set when lading runs inside a
 *   git hook) are dropped.
 */
import { spawn } from "node:child_process";
import { LadingError } from "../errors.js";

/** Variables of the caller's environment that redirect git to other files than the ones lading names. */
const REDIRECTING = ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_PREFIX", "GIT_QUARANTINE_PATH"];

/** Output kept of a git command (stderr of a failing fetch is a few lines; a listing of refs can be large). */
const MAX_OUTPUT = 64 * 1024 * 1024;

export interface GitRunOptions {
  cwd?: string;
  /** Settings as `git -c key=value` would give them, passed through the environment (see above). */
  config?: ReadonlyArray<readonly [string, string]>;
  /** Extra variables (SSH_AUTH_SOCK, GIT_SSH_COMMAND, GIT_INDEX_FILE for a private index). */
  env?: Readonly<Record<string, string>>;
  /** Written to git's stdin, then closed (the credential protocol). */
  input?: string;
  signal?: AbortSignal;
  /** Byte strings to blank out of anything quoted from git's output (explicit secrets). */
  redact?: ReadonlyArray<string>;
}

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment every git child gets: the caller's, minus redirections, plus no prompts. */
export function gitEnv(opts: Pick<GitRunOptions, "config" | "env"> = {}, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const k of REDIRECTING) delete env[k];
  Object.assign(env, {
    GIT_TERMINAL_PROMPT: "0",
    GIT_ASKPASS: "",
    SSH_ASKPASS: "",
    SSH_ASKPASS_REQUIRE: "never",
    GCM_INTERACTIVE: "never",
    // Messages in English: errors are classified by them, not by exit codes (git exits 128 for all).
    LC_ALL: "C",
    LANGUAGE: "C",
  });
  // Settings the caller's environment already carries keep their numbers; ours follow.
  const start = Number(base.GIT_CONFIG_COUNT ?? 0) || 0;
  const config = opts.config ?? [];
  config.forEach(([k, v], i) => {
    env[`GIT_CONFIG_KEY_${start + i}`] = k;
    env[`GIT_CONFIG_VALUE_${start + i}`] = v;
  });
  if (config.length) env.GIT_CONFIG_COUNT = String(start + config.length);
  return { ...env, ...opts.env };
}

/** Runs `git args…`; resolves with its exit code and output (never throws for a non-zero exit). */
export function runGit(args: readonly string[], opts: GitRunOptions = {}): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(new LadingError("CANCELLED", "cancelled before git ran"));
    // detached: setsid(2), so the child has no controlling terminal to prompt on.
    // Outside any repository unless told: the folder lading happens to run in must not lend git its .git/config.
    const child = spawn("git", args, { cwd: opts.cwd ?? "/", env: gitEnv(opts), stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"], detached: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    const keep = (into: Buffer[]) => (c: Buffer) => {
      size += c.length;
      if (size <= MAX_OUTPUT) into.push(c);
    };
    child.stdout!.on("data", keep(out));
    child.stderr!.on("data", keep(err));
    const onAbort = () => {
      // The whole process group: git's own children (remote helpers, ssh, credential helpers) too.
      if (child.pid) {
        try {
          process.kill(-child.pid, "SIGTERM");
        } catch {
          // already gone
        }
      }
    };
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    child.on("error", (e: NodeJS.ErrnoException) => {
      opts.signal?.removeEventListener("abort", onAbort);
      if (e.code === "ENOENT") reject(new LadingError("UNSUPPORTED", "git is not installed (lading runs the git CLI for git sources): install it (Debian: apt-get install git)", { cause: e }));
      else reject(new LadingError("INTERNAL", `cannot run git: ${e.message}`, { cause: e }));
    });
    child.on("close", (code, sig) => {
      opts.signal?.removeEventListener("abort", onAbort);
      if (opts.signal?.aborted) return reject(new LadingError("CANCELLED", `git ${args[0]} cancelled`));
      const scrub = (s: string) => scrubSecrets(s, opts.redact);
      resolve({ code: code ?? (sig ? 128 : 1), stdout: Buffer.concat(out).toString("utf8"), stderr: scrub(Buffer.concat(err).toString("utf8")) });
    });
    if (opts.input !== undefined) {
      child.stdin!.on("error", () => {}); // a helper that exits without reading must not crash lading
      child.stdin!.end(opts.input);
    }
  });
}

/** Blanks each secret (and the forms git may echo it in) out of `text`. */
export function scrubSecrets(text: string, secrets: ReadonlyArray<string> = []): string {
  let s = text;
  for (const v of secrets) if (v.length >= 4) s = s.split(v).join("***");
  return s;
}

/** Runs git and returns stdout, or throws what `fail` makes of a non-zero exit. */
export async function gitOutput(args: readonly string[], opts: GitRunOptions, fail: (r: GitResult) => Error): Promise<string> {
  const r = await runGit(args, opts);
  if (r.code !== 0) throw fail(r);
  return r.stdout;
}
