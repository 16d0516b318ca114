/**
 * How the CLI reports a failure: one table from error code to exit code
 * (and, where there is one, what to do), the message, the cause chain, and
 * for a failed command its fields. Exit codes: 0 success, 1 failure,
 * 2 usage, 130 interrupted (README, "The CLI").
 */
// errors.ts, not index.ts: main.ts loads this at start, and `lading --version` must not load the library.
import { ExecError, LadingError, type LadingErrorCode } from "../errors.js";
import { UsageError } from "./io.js";

export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

const BY_CODE: Record<LadingErrorCode, { exit: number; hint?: string }> = {
  INVALID_ARGUMENT: { exit: EXIT.usage },
  NOT_FOUND: { exit: EXIT.failure },
  DIGEST_MISMATCH: { exit: EXIT.failure, hint: "run `lading fsck --repair` if the damaged copy is in the store" },
  UNSAFE_ARCHIVE: { exit: EXIT.failure },
  INVALID_IMAGE: { exit: EXIT.failure },
  CONTAINERFILE: { exit: EXIT.failure },
  MODULE: { exit: EXIT.failure },
  EXEC_FAILED: { exit: EXIT.failure },
  RUNTIME_UNAVAILABLE: { exit: EXIT.failure, hint: "install runc (or crun, podman), uidmap and, for other platforms, qemu-user-static: bash scripts/setup.sh does" },
  REGISTRY: { exit: EXIT.failure },
  AUTH: { exit: EXIT.failure, hint: "log in with `lading login REGISTRY -u USER --password-stdin`" },
  NETWORK: { exit: EXIT.failure },
  NO_SPACE: { exit: EXIT.failure },
  CANCELLED: { exit: EXIT.interrupted },
  UNSUPPORTED: { exit: EXIT.failure },
  SERVICE: { exit: EXIT.failure, hint: "the service's last output is above; check that its command listens on every exposed port" },
  UNSAFE_STORE: { exit: EXIT.failure },
  STORE_CORRUPT: { exit: EXIT.failure, hint: "run `lading fsck --repair` to remove what is broken" },
  INTERNAL: { exit: EXIT.failure, hint: "this is a bug in lading; run again with LADING_DEBUG=1 and report what it prints" },
};

/** Writes the report of `err` to `stderr` and returns the exit code. */
export function reportError(err: unknown, stderr: { write(s: string): unknown }, debug: boolean): number {
  if (err instanceof UsageError) {
    stderr.write(`lading: ${err.message}\n`);
    return EXIT.usage;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  const row = e instanceof LadingError ? BY_CODE[e.code] : undefined;
  stderr.write(`lading: ${e.message}\n`);
  if (e instanceof ExecError) {
    // The message holds the last stderr lines; these say exactly what ran.
    stderr.write(`  command: ${JSON.stringify(e.cmd)}\n  exit code: ${e.exitCode}\n`);
  }
  for (const cause of causeChain(e)) stderr.write(`  caused by: ${cause}\n`);
  // A git source's AUTH error (src/git/auth.ts remoteError, "git <command> <url>: …") says what to do itself; `lading login` is for registries.
  const gitAuth = e instanceof LadingError && e.code === "AUTH" && /^git [a-z-]+ /.test(e.message);
  if (row?.hint && !gitAuth && !e.message.includes(row.hint)) stderr.write(`  hint: ${row.hint}\n`);
  if (debug && e.stack) stderr.write(e.stack + "\n");
  return row?.exit ?? EXIT.failure;
}

/** The messages of the causes, outermost first, leaving out those the message before already says. */
export function causeChain(err: Error): string[] {
  const out: string[] = [];
  let said = err.message;
  const seen = new Set<unknown>([err]);
  for (let c = err.cause; c !== undefined && c !== null && !seen.has(c); c = (c as { cause?: unknown }).cause) {
    seen.add(c);
    const msg = c instanceof Error ? c.message : String(c);
    if (msg && !said.includes(msg)) out.push(msg);
    said = msg || said;
  }
  return out;
}
