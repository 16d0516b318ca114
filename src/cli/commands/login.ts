import { login as storeLogin, logout as storeLogout } from "../../index.js";
import { UsageError, type CliIO } from "../io.js";

export async function login(registry: string, opts: { username?: string; password?: string; passwordStdin?: boolean; insecureRegistry?: string[] }, io: CliIO): Promise<void> {
  if (!opts.username) throw new UsageError("login needs -u USER");
  let secret = opts.password;
  if (opts.passwordStdin) {
    if (secret !== undefined) throw new UsageError("--password and --password-stdin are mutually exclusive");
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    secret = Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
  }
  if (!secret) throw new UsageError("login needs a password: --password-stdin (recommended) or -p");
  await storeLogin(registry, opts.username, secret, { insecureRegistries: opts.insecureRegistry });
  io.stdout.write("Login Succeeded\n");
}

export async function logout(registry: string, io: CliIO): Promise<void> {
  const removed = await storeLogout(registry);
  io.stdout.write(removed ? `Removed login credentials for ${registry}\n` : `Not logged in to ${registry}\n`);
}
