/**
 * Running a parsed call: the module's object made (or its functions taken),
 * each function called on what the one before returned, module code run
 * with `dag` standing for the session's client. A throw from module code is
 * reported with the module's own stack frames only, mapped to its sources.
 */
import { fileURLToPath } from "node:url";
import { Container, Directory, File, LadingError, Secret, Service, withDag, type Client } from "../../index.js";
import { declaredAt, type ChainStep } from "./chain.js";
import { shown } from "./shown.js";
import type { LoadedModule } from "./load.js";
import { kebab, type TypeRef } from "./schema.js";
import { argValue } from "./values.js";

export interface CallResult {
  value: unknown;
  /** The declared type of `value` (the last function's return type). */
  type: TypeRef;
}

/** Runs `steps` (from parseChain) against the loaded module. */
export async function runChain(client: Client, mod: LoadedModule, steps: ChainStep[]): Promise<CallResult> {
  const rootName = mod.schema.root;
  const root = mod.schema.objects[rootName]!;
  let value: unknown;
  if (root.isClass) {
    const Cls = mod.exports[rootName];
    if (typeof Cls !== "function") throw new LadingError("MODULE", `${shown(mod.entry)}: object ${rootName} is not exported by the code that runs`);
    value = await guarded(mod, `new ${rootName}()`, () => withDag(client, () => new (Cls as new () => unknown)()));
  } else value = mod.exports;
  let type: TypeRef = { kind: "object", name: rootName };
  for (const step of steps) {
    const args: unknown[] = [];
    const named: Record<string, unknown> = {};
    for (const a of step.fn.args) {
      const texts = step.given.get(a.name);
      const v = texts ? await argValue(client, step.fn.name, a, texts).catch((err: unknown) => {
        throw err instanceof LadingError && err.code === "INVALID_ARGUMENT" ? new LadingError(err.code, declaredAt(step.fn) + err.message) : err;
      }) : undefined;
      args.push(v);
      named[a.name] = v;
    }
    // Trailing omitted optionals are left out, so `arguments.length` and rest parameters see what was given.
    while (args.length && args.at(-1) === undefined) args.pop();
    if (step.core) {
      value = await (step.fn as { run(self: unknown, a: Record<string, unknown>): unknown }).run(value, named);
    } else {
      const target = value as Record<string, unknown>;
      const method = target?.[step.fn.name];
      if (typeof method !== "function") throw new LadingError("MODULE", `${shown(mod.entry)}: function ${step.fn.name} is declared but not found in the code that runs`);
      const label = type.kind === "object" && mod.schema.objects[type.name]?.isClass ? `${type.name}.${step.fn.name}` : step.fn.name;
      value = await guarded(mod, label, () => withDag(client, () => (method as (...a: unknown[]) => unknown).apply(target, args)));
    }
    type = step.fn.returns;
  }
  return { value, type };
}

/** Awaits module code; a throw becomes a MODULE error naming the function, with the module's own frames. */
async function guarded<T>(mod: LoadedModule, label: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof LadingError && err.code === "CANCELLED") throw err;
    const e = err instanceof Error ? err : new Error(String(err));
    const frames = ownFrames(e, mod.ownDirs);
    throw new LadingError("MODULE", `${label} threw: ${e.message}${frames.length ? "\n" + frames.map((f) => `    at ${f}`).join("\n") : ""}`, { cause: err });
  }
}

/** Stack lines that point into the module's (or its dependencies') files, paths relative to the current folder. */
export function ownFrames(err: Error, ownDirs: string[]): string[] {
  const out: string[] = [];
  for (const line of (err.stack ?? "").split("\n")) {
    const m = /^\s+at (?:(.*?) \()?(.+?):(\d+):(\d+)\)?$/.exec(line);
    if (!m) continue;
    const file = m[2]!.startsWith("file://") ? fileURLToPath(m[2]!) : m[2]!;
    if (!ownDirs.some((d) => file.startsWith(d + "/"))) continue;
    const where = `${shown(file)}:${m[3]}:${m[4]}`;
    out.push(m[1] ? `${m[1]} (${where})` : where);
  }
  return out;
}

/** How a call's result is printed: a Container or Directory by digest, scalars as they are, objects by their fields. */
export async function renderResult(mod: LoadedModule, result: CallResult, json: boolean): Promise<string> {
  const v = await plain(mod, result.value, result.type);
  if (v === undefined) return "";
  if (json) return JSON.stringify(v, null, 2) + "\n";
  if (Array.isArray(v)) return v.map((x) => (typeof x === "object" ? JSON.stringify(x) : String(x)) + "\n").join("");
  if (v !== null && typeof v === "object") return Object.entries(v).map(([k, x]) => `${k}: ${typeof x === "object" ? JSON.stringify(x) : String(x)}\n`).join("");
  // Text that ends its own line (a file's contents, a command's output) is printed as it is.
  return typeof v === "string" && v.endsWith("\n") ? v : String(v) + "\n";
}

async function plain(mod: LoadedModule, v: unknown, t: TypeRef): Promise<unknown> {
  if (v === undefined || v === null) return v ?? undefined;
  if (v instanceof Container || v instanceof Directory || v instanceof File) return v.digest();
  if (v instanceof Secret) return `secret:${await v.name()}`;
  if (v instanceof Service) return `service:${await v.hostname()}`;
  if (Array.isArray(v)) return Promise.all(v.map((x) => plain(mod, x, t.kind === "array" ? t.of : { kind: "other", text: "" })));
  if (typeof v === "object") {
    const o = t.kind === "object" ? mod.schema.objects[t.name] : undefined;
    const keys = o ? o.fields : Object.keys(v);
    const out: Record<string, unknown> = {};
    for (const k of keys) out[kebab(k)] = await plain(mod, (v as Record<string, unknown>)[k], { kind: "other", text: "" });
    return out;
  }
  return v;
}
