/**
 * What a module offers, as read from its TypeScript signatures once (and
 * cached with the transpiled entry): its objects, their functions, each
 * argument's type, default and TSDoc. Plain JSON, so a warm `lading call`
 * never loads the TypeScript compiler.
 */

/** The API values a function may take or return. */
export const CORE_TYPES = ["Container", "Directory", "File", "Secret", "CacheVolume", "Service"] as const;
export type CoreTypeName = (typeof CORE_TYPES)[number];

export type TypeRef =
  | { kind: "string" | "number" | "boolean" | "void" }
  /** A string-literal union or an enum: `values` as code spells them, `names` the enum's member names (accepted too). */
  | { kind: "enum"; name?: string; values: Array<string | number>; names?: string[] }
  | { kind: "array"; of: TypeRef }
  | { kind: "core"; name: CoreTypeName }
  /** A class of this module or of one of its dependencies. */
  | { kind: "object"; name: string }
  /** Anything else: the function can be listed, but this argument cannot be given on the command line. */
  | { kind: "other"; text: string };

export interface ArgSchema {
  name: string;
  type: TypeRef;
  optional: boolean;
  /** The default's source text (`"."`, `3`), for help. */
  default?: string;
  doc: string;
}

export interface FunctionSchema {
  name: string;
  doc: string;
  args: ArgSchema[];
  returns: TypeRef;
  /** Where it is declared (absolute path and line), for messages. */
  file: string;
  line: number;
}

export interface ObjectSchema {
  name: string;
  doc: string;
  /** False for a module of exported functions (no class). */
  isClass: boolean;
  functions: FunctionSchema[];
  /** Public fields, printed by `--json` when a call ends on this object. */
  fields: string[];
}

export interface ModuleSchema {
  /** The object the CLI starts from. */
  root: string;
  objects: Record<string, ObjectSchema>;
}

/** `srcDir` → `src-dir`: how names are spelt on the command line. */
export function kebab(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1-$2").replace(/([A-Z])([A-Z][a-z])/g, "$1-$2").toLowerCase();
}

/** How a type reads in help and errors. */
export function typeText(t: TypeRef): string {
  switch (t.kind) {
    case "enum":
      return t.name ? `${t.name} (${t.values.map((v) => JSON.stringify(v)).join(" | ")})` : t.values.map((v) => JSON.stringify(v)).join(" | ");
    case "array":
      return `${typeText(t.of)}[]`;
    case "core":
    case "object":
      return t.name;
    case "other":
      return t.text;
    default:
      return t.kind;
  }
}
