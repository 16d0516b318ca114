/**
 * `lading login` / `logout`, storing credentials where docker does:
 * `$DOCKER_CONFIG/config.json` (or `~/.docker`) — through the credential
 * helper named in `credHelpers[host]` or `credsStore` when there is one,
 * inline as `auths[key].auth = base64(user:secret)` otherwise. With
 * `authFile` (or `$REGISTRY_AUTH_FILE`), the containers `auth.json` there
 * is written instead, as podman does. Docker Hub's key is
 * `https://index.docker.io/v1/`.
 */
import { chmod } from "node:fs/promises";
import { LadingError } from "../errors.js";
import { writeFileAtomic } from "../fsutil/atomic.js";
import { helperErase, helperStore } from "./auth/credential-helper.js";
import { dockerConfigPath, normalizeRegistryKey, readAuthConfig, serverUrlFor } from "./auth/credentials.js";
import { RegistryClient } from "./client.js";
import { registryError } from "./transport/errors.js";
import { discard } from "./transport/types.js";
import { readEnvConfig } from "../env-config.js";

export interface LoginOptions {
  /** Write this containers auth.json instead of docker's config.json. */
  authFile?: string;
  /** Use `<dir>/config.json` instead of $DOCKER_CONFIG / ~/.docker. */
  dockerConfigDir?: string;
  /** Check the credentials against the registry first (default true). */
  verify?: boolean;
  insecureRegistries?: string[];
  caFiles?: Record<string, string>;
}

type ConfigFile = Record<string, unknown> & {
  auths?: Record<string, Record<string, unknown>>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
};

function target(opts: LoginOptions): { path: string; kind: "auth.json" | "docker" } {
  const authFile = opts.authFile ?? (opts.dockerConfigDir ? undefined : readEnvConfig().registryAuthFile);
  if (authFile) return { path: authFile, kind: "auth.json" };
  return { path: dockerConfigPath({ dockerConfigDir: opts.dockerConfigDir })!, kind: "docker" };
}

async function verifyLogin(registry: string, username: string, secret: string, opts: LoginOptions): Promise<void> {
  const client = new RegistryClient({ auth: [{ registry, username, secret }], insecureRegistries: opts.insecureRegistries, caFiles: opts.caFiles, retries: 2, authFile: "/nonexistent", dockerConfigDir: "/nonexistent" });
  try {
    const req = { method: "GET" as const, url: new URL("/v2/", client.endpoint(registry)) };
    let res;
    try {
      res = await client.send(req);
    } catch (err) {
      // A token server's refusal surfaces from the auth layer, worded for a pull or push ("check the credentials (`lading login`)"): say it as login's answer.
      if (err instanceof LadingError && err.code === "AUTH") throw new LadingError("AUTH", `login to ${registry} failed: its token server refused the credentials of user ${JSON.stringify(username)}`, { cause: err });
      throw err;
    }
    if (res.statusCode === 401 || res.statusCode === 403) {
      await discard(res);
      throw new LadingError("AUTH", `login to ${registry} failed: the registry refused the credentials of user ${JSON.stringify(username)}`);
    }
    if (res.statusCode !== 200) throw await registryError(req, res, `login to ${registry}`);
    await discard(res);
  } finally {
    await client.close();
  }
}

/** Checks (unless `verify: false`) and stores credentials for `registry`. */
export async function login(registry: string, username: string, secret: string, opts: LoginOptions = {}): Promise<void> {
  const host = normalizeRegistryKey(registry);
  if (!username) throw new LadingError("INVALID_ARGUMENT", "login needs a username");
  if (!secret) throw new LadingError("INVALID_ARGUMENT", "login needs a password or token");
  if (opts.verify !== false) await verifyLogin(host, username, secret, opts);
  const { path, kind } = target(opts);
  const cfg = ((await readAuthConfig(path)) ?? {}) as ConfigFile;
  const key = kind === "docker" ? serverUrlFor(host) : host;
  const helper = kind === "docker" ? (Object.entries(cfg.credHelpers ?? {}).find(([k]) => normalizeRegistryKey(k) === host)?.[1] ?? cfg.credsStore) : undefined;
  cfg.auths ??= {};
  for (const k of Object.keys(cfg.auths)) if (normalizeRegistryKey(k) === host) delete cfg.auths[k];
  if (helper) {
    await helperStore(helper, key, username, secret);
    cfg.auths[key] = {}; // docker keeps an empty entry so `docker info` lists the login
  } else {
    cfg.auths[key] = { auth: Buffer.from(`${username}:${secret}`).toString("base64") };
  }
  await writeFileAtomic(path, JSON.stringify(cfg, null, "\t") + "\n", 0o600);
  await chmod(path, 0o600);
}

/** Removes stored credentials for `registry` from the file login writes (and its helper); true if there were any. */
export async function logout(registry: string, opts: Pick<LoginOptions, "authFile" | "dockerConfigDir"> = {}): Promise<boolean> {
  const host = normalizeRegistryKey(registry);
  const { path, kind } = target(opts);
  const cfg = (await readAuthConfig(path)) as ConfigFile | undefined;
  if (!cfg) return false;
  let removed = false;
  const key = kind === "docker" ? serverUrlFor(host) : host;
  const helper = kind === "docker" ? (Object.entries(cfg.credHelpers ?? {}).find(([k]) => normalizeRegistryKey(k) === host)?.[1] ?? cfg.credsStore) : undefined;
  if (helper) removed = (await helperErase(helper, key)) || removed;
  for (const k of Object.keys(cfg.auths ?? {})) {
    if (normalizeRegistryKey(k) === host) {
      delete cfg.auths![k];
      removed = true;
    }
  }
  if (removed) await writeFileAtomic(path, JSON.stringify(cfg, null, "\t") + "\n", 0o600);
  return removed;
}
