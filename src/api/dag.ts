/**
 * `dag`: the session's client inside a build module (as Dagger's `dag`).
 * A module's code imports it at load time, long before any session exists,
 * so it is a stand-in that forwards to the client of the call running now
 * (an AsyncLocalStorage, so two calls on two clients in one process never
 * see each other's).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { LadingError } from "../errors.js";
import type { Client } from "./client.js";

const current = new AsyncLocalStorage<Client>();

/**
 * Runs `fn` with `dag` standing for `client`: what `lading call` does around
 * each module function; a tool that calls module code itself does the same.
 * @param client The open client `dag` forwards to.
 * @param fn The work; its result is withDag's.
 * @example await withDag(client, () => new Ci().build(src));
 */
export function withDag<T>(client: Client, fn: () => T): T {
  return current.run(client, fn);
}

/**
 * The client of the module call running now: `dag.container().from("alpine")`.
 * @throws LadingError `INVALID_ARGUMENT` when used outside a module call (`lading call`, or {@link withDag}).
 * @example
 * import { dag, type Directory } from "lading";
 * export class Ci { build(src: Directory) { return dag.container().from("alpine").withDirectory("/src", src); } }
 */
export const dag: Client = new Proxy({} as Client, {
  get(_target, prop) {
    const client = current.getStore();
    if (!client) {
      if (prop === "then") return undefined; // `await dag` and module namespace checks must not throw
      throw new LadingError("INVALID_ARGUMENT", `dag.${String(prop)}: dag is the client of a module call; use it inside a function run by \`lading call\` (or withDag(client, fn))`);
    }
    const value = Reflect.get(client, prop, client) as unknown;
    return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(client) : value;
  },
});
