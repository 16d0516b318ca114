/**
 * The native deflate (native/lading_deflate.c, built by npm install when a
 * C compiler is there): the same libdeflate code as the WebAssembly module,
 * from the same source, so the same bytes — ~1.4× faster, which is most of
 * a gzip layer's time. Without it (not built, or LADING_DEFLATE=wasm) the
 * WebAssembly build (deflate-wasm.ts) is used.
 */
import { readEnvConfig } from "../env-config.js";
import { loadNativeAddon } from "../fsutil/native-addon.js";

export interface NativeDeflate {
  /** Bytes written to `output`, 0 when they did not fit; see lading_deflate.c. */
  deflateChunk(level: number, input: Uint8Array, output: Uint8Array, last: boolean): number;
}

/** The addon, or undefined when the WebAssembly build is to be used. */
export function nativeDeflate(): NativeDeflate | undefined {
  return layerAddon<NativeDeflate>("lading_deflate");
}

const layerAddons = new Map<string, unknown>();

/**
 * One of a layer's addons (the deflate, the sha256 of hash-chains.ts), or
 * undefined: not built, not loadable, or LADING_DEFLATE=wasm, which turns
 * both off so that their fallbacks stay testable. A process-wide choice,
 * made once per addon (blocks ask for it each time).
 */
export function layerAddon<T>(name: "lading_deflate" | "lading_sha256"): T | undefined {
  if (!layerAddons.has(name)) layerAddons.set(name, readEnvConfig().deflate === "wasm" ? undefined : loadNativeAddon<T>(name));
  return layerAddons.get(name) as T | undefined;
}

/** Which deflate this process uses (the pack benchmark reports it). */
export function deflateBackend(): "native" | "wasm" {
  return nativeDeflate() ? "native" : "wasm";
}
