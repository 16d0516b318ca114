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
import type { EnvConfig } from "../env-config.js";
import { LadingError } from "../errors.js";
import { validateGcConfig, type GcConfig, type GcSettings } from "./policy.js";

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

export function envGcConfig(gc: EnvConfig["gc"]): GcConfig | undefined {
  if (gc.off) return false;
  const { off: _off, ...sizes } = gc;
  return Object.keys(sizes).length ? validateGcConfig(sizes, "environment") : undefined;
}

/** The effective settings for a store: file, then env, then the caller's; `false` if collection is off. */
export async function resolveGcConfig(storeRoot: string, override: GcConfig | undefined, envGc: EnvConfig["gc"]): Promise<GcConfig> {
  const file = await readStoreGcConfig(storeRoot);
  const fromEnv = envGcConfig(envGc);
  const caller = override === undefined ? undefined : validateGcConfig(override, "connect({ gc })");
  // The strongest source that says anything decides whether collection is on.
  const decisive = caller ?? fromEnv ?? file;
  if (decisive === false) return false;
  const merged: GcSettings = { ...(file || {}), ...(fromEnv || {}), ...(caller || {}) };
  return merged;
}
