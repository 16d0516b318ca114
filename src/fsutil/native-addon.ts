/**
 * One of the addons npm install built (binding.gyp: lading_deflate,
 * lading_sha256, lading_mount), or undefined: not built (no compiler at
 * install) or not loadable here. Each has a way to the same result without
 * it (WebAssembly, the main thread, util-linux), so a missing one is never
 * an error.
 */
import { createRequire } from "node:module";

export type NativeAddonName = "lading_deflate" | "lading_sha256" | "lading_mount";

export function loadNativeAddon<T>(name: NativeAddonName): T | undefined {
  try {
    return createRequire(import.meta.url)(`../../../build/Release/${name}.node`) as T;
  } catch {
    return undefined;
  }
}
