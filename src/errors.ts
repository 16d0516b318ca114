/**
 * One error type for the whole library, with a stable `code` that the CLI
 * and tests switch on (never on messages). Every wrap keeps its `cause` and
 * says what was being done.
 */
export type LadingErrorCode =
  | "INVALID_ARGUMENT" // bad input from the caller: options, references, paths
  | "NOT_FOUND" // an image, blob, file or stage that does not exist
  | "DIGEST_MISMATCH" // content whose bytes do not match its digest or size
  | "UNSAFE_ARCHIVE" // a tar entry that would escape its root
  | "UNSAFE_STORE" // a store another user owns or others can write
  | "INVALID_IMAGE" // a manifest, index, config or layout that breaks the OCI rules
  | "CONTAINERFILE" // a build file that cannot be parsed or translated
  | "MODULE" // a build module that cannot be loaded, or whose function threw
  | "EXEC_FAILED" // a command exited outside its `expect`
  | "RUNTIME_UNAVAILABLE" // no runc/crun/podman, or no way to get a root filesystem
  | "REGISTRY" // the registry answered with an error
  | "AUTH" // credentials missing or refused
  | "NETWORK" // the connection failed
  | "NO_SPACE" // ENOSPC while writing
  | "CANCELLED" // aborted by a signal
  | "UNSUPPORTED" // a valid request lading does not do
  | "SERVICE" // a service did not become healthy: it exited early, or its ports never accepted
  | "STORE_CORRUPT" // the store holds broken blobs, names or records (lading fsck)
  | "INTERNAL";

export class LadingError extends Error {
  readonly code: LadingErrorCode;
  constructor(code: LadingErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = "LadingError";
  }
}

/** A command that exited with a code its `expect` did not allow (mirrors Dagger's ExecError). */
export class ExecError extends LadingError {
  readonly cmd: readonly string[];
  readonly exitCode: number;
  /** Tail of the command's stdout, capped. */
  readonly stdout: string;
  /** Tail of the command's stderr, capped. */
  readonly stderr: string;
  /** Which step ran it (`RUN make`, `Containerfile:12: RUN make`), when known. */
  readonly where?: string;
  constructor(cmd: readonly string[], exitCode: number, stdout: string, stderr: string, where?: string, options?: { cause?: unknown }) {
    const tail = stderr.trim().split("\n").slice(-5).join("\n");
    super(
      "EXEC_FAILED",
      `${where ? where + ": " : ""}process ${JSON.stringify(cmd)} did not complete successfully: exit code: ${exitCode}` +
        (tail ? `\n${tail}` : ""),
      options,
    );
    this.name = "ExecError";
    this.cmd = cmd;
    this.exitCode = exitCode;
    this.stdout = stdout;
    this.stderr = stderr;
    if (where !== undefined) this.where = where;
  }
}

/** A registry error response, with credentials already removed from `url`. */
export class RegistryError extends LadingError {
  readonly statusCode: number;
  readonly method: string;
  readonly url: string;
  /** The OCI error body's `errors[]`, if the registry sent one. */
  readonly diagnostics: ReadonlyArray<{ code: string; message?: string; detail?: unknown }>;
  /** Whether trying again may succeed (408, 429, 5xx). */
  readonly temporary: boolean;
  constructor(
    init: {
      statusCode: number;
      method: string;
      url: string;
      diagnostics?: ReadonlyArray<{ code: string; message?: string; detail?: unknown }>;
      message?: string;
    },
    options?: { cause?: unknown },
  ) {
    const diag = (init.diagnostics ?? []).map((d) => `${d.code}${d.message ? ": " + d.message : ""}`).join("; ");
    const code = init.statusCode === 401 || init.statusCode === 403 ? "AUTH" : "REGISTRY";
    super(
      code,
      init.message ?? `${init.method} ${init.url}: ${init.statusCode}${diag ? " (" + diag + ")" : ""}`,
      options,
    );
    this.name = "RegistryError";
    this.statusCode = init.statusCode;
    this.method = init.method;
    this.url = init.url;
    this.diagnostics = init.diagnostics ?? [];
    this.temporary = init.statusCode === 408 || init.statusCode === 429 || init.statusCode >= 500;
  }
}

/** An error in a build file, located at `file:line`. */
export class ContainerfileError extends LadingError {
  readonly file: string;
  readonly line: number;
  constructor(file: string, line: number, message: string, options?: { cause?: unknown }) {
    super("CONTAINERFILE", `${file}:${line}: ${message}`, options);
    this.name = "ContainerfileError";
    this.file = file;
    this.line = line;
  }
}

/** Wraps an fs error into a LadingError, turning ENOSPC into a clear NO_SPACE. */
export function wrapFsError(what: string, err: unknown): LadingError {
  if (err instanceof LadingError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOSPC") return new LadingError("NO_SPACE", `${what}: no space left on device; free some disk space (try \`lading prune\`)`, { cause: err });
  if (code === "ENOENT") return new LadingError("NOT_FOUND", `${what}: ${(err as Error).message}`, { cause: err });
  return new LadingError("INTERNAL", `${what}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}
