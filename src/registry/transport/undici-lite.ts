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
 * Keeps undici's HTTP parser (llhttp, WebAssembly) on V8's baseline code.
 * After a few responses V8 starts optimizing llhttp's one giant function
 * on a background thread (~80 ms of CPU), and a Node process waits for
 * that compile before it exits: it was a third of a warm `lading push`.
 * The baseline code parses no slower for registry traffic (headers are
 * small; bodies pass through by length). V8 decides the tier when a
 * function is compiled, so the flag is on only until the first response
 * has been parsed (`release`), and other WebAssembly in the process is
 * unaffected after that. Only the first exchange of the process pins.
 */
export function pinParserTier(): (() => void) | undefined {
  if (parserPinned) return undefined;
  parserPinned = true;
  // Started with --liftoff-only (or other wasm tiering choices): leave them be.
  if (process.execArgv.some((a) => /liftoff|wasm/.test(a))) return undefined;
  setFlagsFromString("--liftoff-only");
  return () => setFlagsFromString("--no-liftoff-only");
}
