/**
 * The docker-credential-helpers protocol (distribution-rules §10):
 * `docker-credential-<suffix> get|store|erase`, stdin/stdout, errors on
 * stdout with exit status 1, and "credentials not found in native keychain"
 * meaning anonymous, not failure.
 */
import { spawn } from "node:child_process";
import { LadingError } from "../../errors.js";

export interface HelperCredential {
  username: string;
  secret: string;
}

const NOT_FOUND = "credentials not found in native keychain";

function run(helper: string, action: string, input: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(`docker-credential-${helper}`, [action], { stdio: ["pipe", "pipe", "ignore"] });
    let stdout = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (c: string) => (stdout += c));
    child.on("error", (err) =>
      reject(new LadingError("AUTH", `credential helper docker-credential-${helper} could not be run (${(err as NodeJS.ErrnoException).code ?? err.message}); install it or fix credsStore/credHelpers in the docker config`, { cause: err })),
    );
    child.on("close", (code) => resolve({ code: code ?? 1, stdout }));
    child.stdin.on("error", () => {}); // a helper that exits without reading stdin
    child.stdin.end(input);
  });
}

/** `get`: the credential for `serverUrl`, or undefined when the helper has none. */
export async function helperGet(helper: string, serverUrl: string): Promise<HelperCredential | undefined> {
  const { code, stdout } = await run(helper, "get", serverUrl);
  if (code !== 0) {
    if (stdout.trim() === NOT_FOUND) return undefined;
    // The helper's message, never the input: a helper's output here holds no secret (it failed).
    throw new LadingError("AUTH", `credential helper docker-credential-${helper} failed for ${serverUrl}: ${stdout.trim().slice(0, 200) || `exit status ${code}`}`);
  }
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch {
    throw new LadingError("AUTH", `credential helper docker-credential-${helper} printed something that is not JSON for ${serverUrl}`);
  }
  if (typeof parsed.Secret !== "string" || parsed.Secret === "") return undefined;
  return { username: typeof parsed.Username === "string" ? parsed.Username : "", secret: parsed.Secret };
}

export async function helperStore(helper: string, serverUrl: string, username: string, secret: string): Promise<void> {
  const { code, stdout } = await run(helper, "store", JSON.stringify({ ServerURL: serverUrl, Username: username, Secret: secret }));
  if (code !== 0) throw new LadingError("AUTH", `credential helper docker-credential-${helper} could not store credentials for ${serverUrl}: ${stdout.trim().slice(0, 200)}`);
}

/** `erase`: true when something was removed. */
export async function helperErase(helper: string, serverUrl: string): Promise<boolean> {
  const { code, stdout } = await run(helper, "erase", serverUrl);
  if (code === 0) return true;
  if (stdout.trim() === NOT_FOUND) return false;
  throw new LadingError("AUTH", `credential helper docker-credential-${helper} could not erase credentials for ${serverUrl}: ${stdout.trim().slice(0, 200)}`);
}
