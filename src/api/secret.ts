import type { SecretRef } from "../engine/ops.js";

/**
 * A secret value, known to the session by name. Its value never enters an
 * op, a cache key, a layer, progress output or an error (command output
 * shows `***` in its place). Made by `client.setSecret`, `secretFromEnv`
 * and `secretFromFile`.
 *
 * @example
 * const token = client.setSecret("token", process.env.TOKEN!);
 * c.withMountedSecret("/run/secrets/token", token);
 */
export class Secret {
  /** @internal The name the session knows the value by. */
  readonly ref: SecretRef;
  /** Not for direct use: made by the Client's secret methods. */
  constructor(name: string) {
    this.ref = Object.freeze({ name });
  }
  /**
   * The secret's name (never its value).
   * @example await client.setSecret("token", "s3cr3t").name(); // "token"
   */
  async name(): Promise<string> {
    return this.ref.name;
  }
}

/**
 * A named, persistent cache directory, kept in the store (one per name and
 * store, shared by every build and client on it) and mounted with
 * `Container.withMountedCache`. Its contents never enter an image or a
 * cache key; `client.prune()` may remove it. Made by `client.cacheVolume`.
 *
 * @example
 * c.withMountedCache("/root/.cache/pip", client.cacheVolume("pip"))
 */
export class CacheVolume {
  /** @internal The volume's name. */
  readonly key: string;
  /** Not for direct use: made by `client.cacheVolume`. */
  constructor(key: string) {
    this.key = key;
  }
}
