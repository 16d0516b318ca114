/**
 * A call's command line, read against the module's schema: `FUNCTION
 * [--arg value]… [CHAINED-FUNCTION [--arg value]…]…`. Each function is looked
 * up on the type the one before returns (a module object, or an API value's
 * table), so a typo is caught before anything runs, with the closest names.
 */
import { LadingError } from "../../index.js";
import { closestNames } from "../../fsutil/closest-names.js";
import { shown } from "./shown.js";
import { CORE_FUNCTIONS, type CoreFunction } from "./core-functions.js";
import { kebab, typeText, type FunctionSchema, type ModuleSchema, type TypeRef } from "./schema.js";

export interface ChainStep {
  fn: FunctionSchema | CoreFunction;
  /** True for an API value's function (core-functions.ts), false for the module's own. */
  core: boolean;
  /** Flag values as given, by argument name; a repeated flag has several. */
  given: Map<string, string[]>;
}

/** The functions a value of type `t` offers. */
export function functionsOf(schema: ModuleSchema, t: TypeRef): { fns: Array<FunctionSchema | CoreFunction>; core: boolean } | undefined {
  if (t.kind === "object" && schema.objects[t.name]) return { fns: schema.objects[t.name]!.functions, core: false };
  if (t.kind === "core") return { fns: CORE_FUNCTIONS[t.name], core: true };
  return undefined;
}

/** `partial`: leave required arguments unchecked (for help on a chain being written). */
export function parseChain(schema: ModuleSchema, tokens: readonly string[], opts: { partial?: boolean } = {}): ChainStep[] {
  if (!tokens.length) throw new LadingError("INVALID_ARGUMENT", `no function given; \`lading functions\` lists them (${schema.objects[schema.root]!.functions.map((f) => kebab(f.name)).join(", ")})`);
  const steps: ChainStep[] = [];
  let on: TypeRef = { kind: "object", name: schema.root };
  let i = 0;
  while (i < tokens.length) {
    const name = tokens[i++]!;
    const offered = functionsOf(schema, on);
    const prev = steps.at(-1);
    if (!offered) throw new LadingError("INVALID_ARGUMENT", `${kebab(prev!.fn.name)} returns ${typeText(on)}: nothing can be chained after it (got "${name}")`);
    if (name.startsWith("-")) throw new LadingError("INVALID_ARGUMENT", prev ? `${kebab(prev.fn.name)} has no flag ${name.split("=")[0]}${flagList(prev.fn)}` : `expected a function name, got ${name}`);
    const fn = offered.fns.find((f) => kebab(f.name) === name || f.name === name);
    if (!fn) {
      const names = offered.fns.map((f) => kebab(f.name));
      const near = closestNames(name, names);
      const where = on.kind === "object" && on.name === schema.root ? `module object ${on.name}` : typeText(on);
      throw new LadingError("INVALID_ARGUMENT", `unknown function "${name}" of ${where}` + (near.length ? `; did you mean ${near.join(", ")}?` : "") + ` (its functions: ${names.join(", ") || "none"})`);
    }
    const given = new Map<string, string[]>();
    while (i < tokens.length && tokens[i]!.startsWith("--")) {
      const tok = tokens[i++]!;
      const eq = tok.indexOf("=");
      const flag = eq < 0 ? tok.slice(2) : tok.slice(2, eq);
      const a = fn.args.find((x) => kebab(x.name) === flag || x.name === flag);
      if (!a) {
        const near = closestNames(flag, fn.args.map((x) => kebab(x.name)));
        throw new LadingError("INVALID_ARGUMENT", `${kebab(fn.name)} has no flag --${flag}` + (near.length ? `; did you mean ${near.map((n) => "--" + n).join(", ")}?` : "") + flagList(fn));
      }
      let value: string;
      if (eq >= 0) value = tok.slice(eq + 1);
      else if (a.type.kind === "boolean") value = tokens[i] === "true" || tokens[i] === "false" ? tokens[i++]! : "true";
      else if (i < tokens.length) value = tokens[i++]!;
      else throw new LadingError("INVALID_ARGUMENT", `${kebab(fn.name)} --${flag}: a value (${typeText(a.type)}) is missing`);
      given.set(a.name, [...(given.get(a.name) ?? []), value]);
    }
    for (const a of opts.partial ? [] : fn.args) {
      if (!a.optional && !given.has(a.name)) throw new LadingError("INVALID_ARGUMENT", `${declaredAt(fn)}${kebab(fn.name)}: missing --${kebab(a.name)} (${typeText(a.type)})${a.doc ? ": " + a.doc : ""}`);
    }
    steps.push({ fn, core: offered.core, given });
    on = fn.returns;
  }
  return steps;
}

/** `ci/pipeline.ts:12: ` for a module function, nothing for an API value's. */
export function declaredAt(fn: FunctionSchema | CoreFunction): string {
  return "file" in fn ? `${shown(fn.file)}:${fn.line}: ` : "";
}

function flagList(fn: FunctionSchema | CoreFunction): string {
  return fn.args.length ? ` (its flags: ${fn.args.map((a) => `--${kebab(a.name)}`).join(", ")})` : " (it takes no flags)";
}
