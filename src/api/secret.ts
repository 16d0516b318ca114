import type { SecretRef } from "../engine/ops.js";

/**
 * A secret value, known to the session by name. Its value never enters an
 * op, a cache key, a layer, progress output or an error.
 */
export class Secret {
  /** @internal */
  readonly ref: SecretRef;
  /** @internal */
  constructor(name: string) {
    this.ref = Object.freeze({ name });
  }
  /** The secret's name (never its value). */
  async name(): Promise<string> {
    return this.ref.name;
  }
}

/** A named, persistent cache directory (kept in the store), mounted with `withMountedCache`. */
export class CacheVolume {
  /** @internal */
  readonly key: string;
  /** @internal */
  constructor(key: string) {
    this.key = key;
  }
}
