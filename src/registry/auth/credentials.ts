/**
 * Where credentials come from, in the order podman and docker look
 * (distribution-rules §10, issue 4 "Auth"):
 *  1. explicit ones (`connect({auth})`, `withRegistryAuth`);
 *  2. containers `auth.json`: `$REGISTRY_AUTH_FILE`, else
 *     `$XDG_RUNTIME_DIR/containers/auth.json`, `~/.config/containers/auth.json`;
 *  3. docker `config.json` in `$DOCKER_CONFIG` or `~/.docker`:
 *     `credHelpers[host]`, then `credsStore`, then inline `auths`.
 * A username of `<token>` means the secret is an identity (refresh) token.
 * When a test passes `authFile` or `dockerConfigDir`, the user's own files
 * of either kind are not read, so tests never pick up the machine's logins.
 */
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { LadingError } from "../../errors.js";
import { DOCKER_HUB } from "../reference.js";
import { helperGet } from "./credential-helper.js";
import { readEnvConfig, type EnvConfig } from "../../env-config.js";

export interface Credential {
  username: string;
  secret: string;
}

/** The environment's say in where credentials are (REGISTRY_AUTH_FILE, XDG_*, DOCKER_CONFIG). */
export type CredentialEnv = Pick<EnvConfig, "registryAuthFile" | "xdgRuntimeDir" | "xdgConfigHome" | "dockerConfig">;

export interface CredentialSources {
  explicit?: ReadonlyArray<{ registry: string; username: string; secret: string }>;
  authFile?: string;
  dockerConfigDir?: string;
  /** Default: this process's environment, read when the sources are made. */
  env?: CredentialEnv;
}

/** The key docker uses for Docker Hub in config.json and with helpers. */
export const DOCKER_HUB_CONFIG_KEY = "https://index.docker.io/v1/";

interface AuthConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** The registry host a config key names: docker strips scheme and path, and Hub has several aliases. */
export function normalizeRegistryKey(key: string): string {
  let h = key.replace(/^[a-z]+:\/\//i, "");
  h = h.split("/")[0]!;
  if (h === "index.docker.io" || h === "registry-1.docker.io" || h === "registry.hub.docker.com") return DOCKER_HUB;
  return h;
}

/** The server URL a registry is stored under (config.json key, helper input). */
export function serverUrlFor(registry: string): string {
  return normalizeRegistryKey(registry) === DOCKER_HUB ? DOCKER_HUB_CONFIG_KEY : registry;
}

export function authFilePaths(src: CredentialSources): string[] {
  if (src.authFile) return [src.authFile];
  if (src.dockerConfigDir) return [];
  const env = src.env ?? readEnvConfig();
  if (env.registryAuthFile) return [env.registryAuthFile];
  const out: string[] = [];
  if (env.xdgRuntimeDir) out.push(join(env.xdgRuntimeDir, "containers", "auth.json"));
  out.push(join(env.xdgConfigHome ?? join(homedir(), ".config"), "containers", "auth.json"));
  return out;
}

export function dockerConfigPath(src: CredentialSources): string | undefined {
  if (src.dockerConfigDir) return join(src.dockerConfigDir, "config.json");
  if (src.authFile) return undefined;
  return join((src.env ?? readEnvConfig()).dockerConfig ?? join(homedir(), ".docker"), "config.json");
}

export async function readAuthConfig(path: string): Promise<AuthConfigFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as AuthConfigFile;
  } catch (err) {
    // Never quote the file: it holds secrets.
    throw new LadingError("AUTH", `${path} is not valid JSON; fix or remove it`, { cause: new Error((err as Error).name) });
  }
}

/** The credential for `registry` from the first source that has one, or undefined (anonymous). */
export async function findCredential(registry: string, src: CredentialSources): Promise<Credential | undefined> {
  const want = normalizeRegistryKey(registry);
  const explicit = src.explicit?.find((a) => normalizeRegistryKey(a.registry) === want);
  if (explicit) return { username: explicit.username, secret: explicit.secret };
  for (const p of authFilePaths(src)) {
    const cfg = await readAuthConfig(p);
    const c = cfg && (await fromConfig(cfg, want, p));
    if (c) return c;
  }
  const dc = dockerConfigPath(src);
  const cfg = dc ? await readAuthConfig(dc) : undefined;
  return cfg ? fromConfig(cfg, want, dc!) : undefined;
}

async function fromConfig(cfg: AuthConfigFile, registry: string, path: string): Promise<Credential | undefined> {
  const helperEntry = Object.entries(cfg.credHelpers ?? {}).find(([k]) => normalizeRegistryKey(k) === registry);
  const helper = helperEntry?.[1] ?? cfg.credsStore;
  if (helper) {
    for (const url of new Set([helperEntry?.[0] ?? serverUrlFor(registry), registry, `https://${registry}`])) {
      const c = await helperGet(helper, url);
      if (c) return c;
    }
    if (helperEntry) return undefined; // a per-registry helper is authoritative for its registry
  }
  const entry = Object.entries(cfg.auths ?? {}).find(([k]) => normalizeRegistryKey(k) === registry)?.[1];
  if (!entry) return undefined;
  if (entry.identitytoken) return { username: "<token>", secret: entry.identitytoken };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const i = decoded.indexOf(":");
    if (i < 0) throw new LadingError("AUTH", `the "auth" entry for ${registry} in ${path} is not base64 of user:password`);
    return { username: decoded.slice(0, i), secret: decoded.slice(i + 1) };
  }
  if (entry.username && entry.password) return { username: entry.username, secret: entry.password };
  return undefined;
}
