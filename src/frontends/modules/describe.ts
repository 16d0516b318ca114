/** `lading functions`: a module's functions with their TSDoc and arguments, as a user reads them. */
import { kebab, typeText, type FunctionSchema, type ModuleSchema } from "./schema.js";

export function describeFunctions(schema: ModuleSchema): string {
  const root = schema.objects[schema.root]!;
  const lines: string[] = [];
  lines.push(root.isClass ? `${root.name}${root.doc ? ": " + firstLine(root.doc) : ""}` : `${root.name} (exported functions)`);
  lines.push("");
  for (const f of root.functions) lines.push(...describeFunction(f));
  return lines.join("\n") + "\n";
}

/** One function's help: its TSDoc and flags (`lading call FN --help`). */
export function describeFunction(f: Pick<FunctionSchema, "name" | "doc" | "args" | "returns">): string[] {
  const out = [`${kebab(f.name)}${f.returns.kind === "void" ? "" : ` → ${typeText(f.returns)}`}`];
  if (f.doc) for (const l of f.doc.split("\n")) out.push(`    ${l}`);
  for (const a of f.args) {
    const note = a.default !== undefined ? ` (default ${a.default})` : a.optional ? " (optional)" : "";
    out.push(`    --${kebab(a.name)} ${typeText(a.type)}${note}${a.doc ? "  " + a.doc : ""}`);
  }
  out.push("");
  return out;
}

function firstLine(s: string): string {
  return s.split("\n")[0]!;
}
