import { UsageError } from "./io.js";

export interface CacheSpec {
  ref: string;
  mode: "min" | "max";
}

/**
 * Parses `--cache-from` / `--cache-to` as buildx spells them:
 * `type=registry,ref=REG/app:buildcache[,mode=min|max]` (mode only for
 * --cache-to). Only the registry type exists: the registry is the one
 * component runners share.
 */
export function parseCacheSpec(spec: string, flag: "--cache-from" | "--cache-to"): CacheSpec {
  const fields: Record<string, string> = {};
  for (const part of spec.split(",")) {
    const i = part.indexOf("=");
    if (i <= 0) throw new UsageError(`${flag} ${spec}: "${part}" is not key=value; use type=registry,ref=REGISTRY/REPO:TAG`);
    fields[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  if (fields.type !== "registry") throw new UsageError(`${flag} ${spec}: type=registry is the only cache type lading has`);
  const allowed = flag === "--cache-to" ? ["type", "ref", "mode"] : ["type", "ref"];
  for (const k of Object.keys(fields)) {
    if (!allowed.includes(k)) throw new UsageError(`${flag} ${spec}: unknown field "${k}" (use ${allowed.join(", ")})`);
  }
  if (!fields.ref) throw new UsageError(`${flag} ${spec}: ref= is required (the cache's registry reference, e.g. ref=registry.example.com/app:buildcache)`);
  const mode = fields.mode ?? "min";
  if (mode !== "min" && mode !== "max") throw new UsageError(`${flag} ${spec}: mode must be min or max, not "${mode}"`);
  return { ref: fields.ref, mode };
}
