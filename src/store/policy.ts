/**
 * The disk usage policy of the store (issue 6), as pure arithmetic.
 *
 * Three figures, computed on the filesystem that holds the store, with
 * BuildKit's meaning (its `reservedSpace`, `maxUsedSpace`, `minFreeSpace`):
 * - reservedSpace: the cache is never cut below this size
 *   (default min(10% of the disk, 10 GB));
 * - maxUsedSpace: when the store uses more than this, collect down to it
 *   (default 75% of the disk);
 * - minFreeSpace: when the disk has less free than this, collect until it
 *   has (default 20% of the disk) — but never below reservedSpace.
 *
 * Values are bytes, sizes such as "10GB" / "512MiB" (KB, MB, GB, TB are
 * powers of 1000; KiB, MiB, GiB, TiB powers of 1024), or "N%" of the disk.
 */
import { LadingError } from "../errors.js";

/** A size as the user writes it: bytes, "10GB"-style, or "20%" of the disk. */
export type SizeSetting = number | string;

export interface GcSettings {
  reservedSpace?: SizeSetting;
  maxUsedSpace?: SizeSetting;
  minFreeSpace?: SizeSetting;
}

/** `false` turns automatic collection off. */
export type GcConfig = GcSettings | false;

/** The three figures resolved to bytes for one disk. */
export interface PolicyFigures {
  reservedSpace: number;
  maxUsedSpace: number;
  minFreeSpace: number;
}

export interface DiskFacts {
  /** Size of the filesystem holding the store, bytes. */
  total: number;
  /** Bytes free for an unprivileged writer (statfs bavail). */
  free: number;
}

const GB = 1e9;
/** BuildKit's cap on the default reserved space, so a huge disk does not reserve a huge cache. */
const RESERVED_CAP = 10 * GB;

export const DEFAULT_GC: Required<GcSettings> = { reservedSpace: "10%", maxUsedSpace: "75%", minFreeSpace: "20%" };

const UNITS: Record<string, number> = {
  "": 1, b: 1,
  k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12,
  kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4,
};

/** Parses "10GB", "512MiB", "1.5g", "123" or a number into bytes. Percentages are refused here (they need a disk). */
export function parseSize(v: SizeSetting, what = "size"): number {
  if (typeof v === "number") {
    if (!Number.isFinite(v) || v < 0) throw new LadingError("INVALID_ARGUMENT", `${what}: ${v} is not a byte count`);
    return Math.floor(v);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(v);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new LadingError("INVALID_ARGUMENT", `${what}: "${v}" is not a size; write bytes, "10GB", "512MiB" or "20%"`);
  return Math.floor(Number(m[1]) * unit);
}

/** Resolves one setting against the disk size: a percentage of `total`, else a size. */
export function resolveSize(v: SizeSetting, total: number, what: string): number {
  if (typeof v === "string") {
    const p = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(v);
    if (p) {
      const pct = Number(p[1]);
      if (pct > 100) throw new LadingError("INVALID_ARGUMENT", `${what}: ${v} is more than the whole disk`);
      return Math.floor((total * pct) / 100);
    }
  }
  return parseSize(v, what);
}

/** Checks settings without a disk (so a bad value fails at connect, not after a build). */
export function validateGcConfig(cfg: unknown, where: string): GcConfig {
  if (cfg === false) return false;
  if (cfg === null || typeof cfg !== "object" || Array.isArray(cfg)) throw new LadingError("INVALID_ARGUMENT", `${where}: gc must be false or { reservedSpace, maxUsedSpace, minFreeSpace }`);
  const out: GcSettings = {};
  for (const [k, v] of Object.entries(cfg)) {
    if (!(k in DEFAULT_GC)) throw new LadingError("INVALID_ARGUMENT", `${where}: unknown gc setting "${k}" (use reservedSpace, maxUsedSpace, minFreeSpace)`);
    if (typeof v !== "number" && typeof v !== "string") throw new LadingError("INVALID_ARGUMENT", `${where}: gc.${k} must be bytes, a size like "10GB" or a percentage like "20%"`);
    resolveSize(v, 1e12, `${where}: gc.${k}`);
    out[k as keyof GcSettings] = v;
  }
  return out;
}

/**
 * The figures for a disk of `total` bytes. The default reserved space is
 * capped at 10 GB; an explicit setting is taken as given.
 */
export function policyFigures(settings: GcSettings, total: number): PolicyFigures {
  const reservedDefault = settings.reservedSpace === undefined;
  let reservedSpace = resolveSize(settings.reservedSpace ?? DEFAULT_GC.reservedSpace, total, "reservedSpace");
  if (reservedDefault) reservedSpace = Math.min(reservedSpace, RESERVED_CAP);
  return {
    reservedSpace,
    maxUsedSpace: resolveSize(settings.maxUsedSpace ?? DEFAULT_GC.maxUsedSpace, total, "maxUsedSpace"),
    minFreeSpace: resolveSize(settings.minFreeSpace ?? DEFAULT_GC.minFreeSpace, total, "minFreeSpace"),
  };
}

/**
 * How many bytes of the store's `used` bytes to free now: enough to bring
 * the store under maxUsedSpace and the disk's free space up to
 * minFreeSpace, but never so much that the store drops below
 * reservedSpace. 0 means nothing to do.
 */
export function bytesToFree(fig: PolicyFigures, used: number, disk: DiskFacts): number {
  const overMax = used - fig.maxUsedSpace;
  const underFree = fig.minFreeSpace - disk.free;
  const want = Math.max(0, overMax, underFree);
  const allowed = Math.max(0, used - fig.reservedSpace);
  return Math.min(want, allowed);
}

/** Whether collection is due: the store is over its maximum or the disk is short of free space (above the reserve). */
export function collectionDue(fig: PolicyFigures, used: number, disk: DiskFacts): boolean {
  return bytesToFree(fig, used, disk) > 0;
}
