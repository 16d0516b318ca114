/**
 * Build modules: a team's build as TypeScript functions, called from the
 * command line (`lading call build --src . export --path app.tar`) or from
 * code. Published as `lading/modules`; built only on the public API.
 */
import { isGitAddress, type Client } from "../../index.js";
import { parseChain } from "./chain.js";
import { runChain, type CallResult } from "./call.js";
import { dependencyDir, resolveSource } from "./deps.js";
import { loadModule, type LoadedModule } from "./load.js";

export { loadModule, type LoadedModule } from "./load.js";
export { parseChain, type ChainStep } from "./chain.js";
export { runChain, renderResult, type CallResult } from "./call.js";
export { describeFunctions, describeFunction } from "./describe.js";
export { initModule, type InitOpts } from "./init.js";
export { installDependency, updateDependencies } from "./install.js";
export { readManifest, type ModuleManifest, type ModuleDependency } from "./manifest.js";
export type { ModuleSchema, ObjectSchema, FunctionSchema, ArgSchema, TypeRef } from "./schema.js";

/**
 * Loads a module from a folder, or from a git repository
 * (`https://host/repo.git#ref:subdir`, fetched at the commit the ref names now).
 * @example const mod = await openModule(client, "./ci");
 */
export async function openModule(client: Client, source: string): Promise<LoadedModule> {
  if (!isGitAddress(source)) return loadModule(client, source);
  const pin = await resolveSource(client, source);
  return loadModule(client, await dependencyDir(client, { name: "module", source, pin }));
}

/**
 * Calls a function chain given as command-line words, as `lading call` does.
 * @example const { value } = await callModule(client, mod, ["build", "--src", ".", "digest"]);
 */
export async function callModule(client: Client, mod: LoadedModule, words: readonly string[]): Promise<CallResult> {
  return runChain(client, mod, parseChain(mod.schema, words));
}
