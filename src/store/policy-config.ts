/**
 * Where the disk policy's settings come from, weakest first:
 * `<store>/lading.json` (`{ "gc": { "reservedSpace": "5GB", … } }` or
 * `{ "gc": false }`), then the environment (`LADING_GC=off`,
 * `LADING_GC_RESERVED`, `LADING_GC_MAX_USED`, `LADING_GC_MIN_FREE`), then
 * `connect({ gc })`. Each field is taken from the strongest source that
 * sets it; `false` anywhere stronger turns collection off.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { LadingError } from "../errors.js";
import { validateGcConfig, type GcConfig, type GcSettings } from "./policy.js";

const ENV_KEYS: Record<keyof GcSettings, string> = {
  reservedSpace: "LADING_GC_RESERVED",
  maxUsedSpace: "LADING_GC_MAX_USED",
  minFreeSpace: "LADING_GC_MIN_FREE",
};

export async function readStoreGcConfig(storeRoot: string): Promise<GcConfig | undefined> {
  const path = join(storeRoot, "lading.json");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new LadingError("INVALID_ARGUMENT", `${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const gc = (json as { gc?: unknown })?.gc;
  return gc === undefined ? undefined : validateGcConfig(gc, path);
}

export function envGcConfig(env: NodeJS.ProcessEnv): GcConfig | undefined {
  const off = env.LADING_GC?.toLowerCase();
  if (off === "off" || off === "0" || off === "false") return false;
  const out: Record<string, string> = {};
  for (const [k, name] of Object.entries(ENV_KEYS)) if (env[name]) out[k] = env[name]!;
  return Object.keys(out).length ? validateGcConfig(out, "environment") : undefined;
}

/** The effective settings for a store: file, then env, then the caller's; `false` if collection is off. */
export async function resolveGcConfig(storeRoot: string, override?: GcConfig, env: NodeJS.ProcessEnv = process.env): Promise<GcConfig> {
  const file = await readStoreGcConfig(storeRoot);
  const fromEnv = envGcConfig(env);
  const caller = override === undefined ? undefined : validateGcConfig(override, "connect({ gc })");
  // The strongest source that says anything decides whether collection is on.
  const decisive = caller ?? fromEnv ?? file;
  if (decisive === false) return false;
  const merged: GcSettings = { ...(file || {}), ...(fromEnv || {}), ...(caller || {}) };
  return merged;
}
