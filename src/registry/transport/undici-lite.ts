/**
 * The undici pieces the registry client uses — `Agent` and `request` —
 * loaded on first use from their own files rather than through undici's
 * index. The index loads every dispatcher, fetch, WebSocket, EventSource,
 * the mock and cache layers: ~100 ms of a short `lading push`/`pull`
 * process, against ~30 ms for these two (bench/README.md, "registry").
 * undici is pinned to an exact version in package.json, and these paths
 * are the ones its own index requires.
 */
import { createRequire } from "node:module";
import { setFlagsFromString } from "node:v8";
import type { Agent, Dispatcher } from "undici";

export interface UndiciLite {
  Agent: typeof Agent;
  /** undici's `Dispatcher.prototype.request`, called with the agent as `this`. */
  request: (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
}

let loaded: UndiciLite | undefined;

export function undici(): UndiciLite {
  if (!loaded) {
    const require = createRequire(import.meta.url);
    loaded = {
      Agent: require("undici/lib/dispatcher/agent.js") as typeof Agent,
      request: require("undici/lib/api/api-request.js") as UndiciLite["request"],
    };
  }
  return loaded;
}

let parserPinned = false;

/**
 * Keeps undici's HTTP parser (llhttp, WebAssembly) on V8's baseline
 * (Liftoff) code. After a response or two V8 starts optimizing llhttp's one
 * giant function on a background thread (~80 ms of CPU), and a Node process
 * waits for that compile before it exits: it was a third of a warm
 * `lading push`. Liftoff code parses registry traffic no slower (headers are
 * small; bodies pass through by length; a 256 MiB pull took less CPU).
 *
 * V8 fixes a function's tiering when it compiles it, so tiering is off only
 * until the first response has been parsed, then both flags go back to their
 * defaults: later WebAssembly tiers up as usual, and the flag hash is the
 * original one again (with any other flag left changed, V8 would reject the
 * code cache of every built-in module loaded afterwards: 2-4× slower loads).
 * Call `release(true)` once response headers arrived, `release(false)` when
 * the exchange failed before that (the next exchange pins again).
 */
export function pinParserTier(): ((parsed: boolean) => void) | undefined {
  if (parserPinned) return undefined;
  // Started with wasm tiering flags of its own: leave them be.
  if (process.execArgv.some((a) => /liftoff|wasm/.test(a))) return undefined;
  parserPinned = true;
  setFlagsFromString("--no-wasm-dynamic-tiering --no-wasm-tier-up");
  return (parsed) => {
    setFlagsFromString("--wasm-dynamic-tiering --wasm-tier-up");
    if (!parsed) parserPinned = false;
  };
}
