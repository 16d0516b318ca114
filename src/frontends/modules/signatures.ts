/**
 * Reads a module's functions from its TypeScript signatures with the
 * TypeScript compiler API (JS entries through their JSDoc and defaults), so
 * argument types are written once, in the code. `lading` and `lading:NAME`
 * resolve as they do when the module runs: to this package's declarations
 * and to the dependencies' entries.
 */
import { dirname, relative } from "node:path";
import ts from "typescript";
import { LadingError } from "../../index.js";
import { closestNames } from "../../fsutil/closest-names.js";
import { shown } from "./shown.js";
import { CORE_TYPES, type ArgSchema, type CoreTypeName, type FunctionSchema, type ModuleSchema, type ObjectSchema, type TypeRef } from "./schema.js";

export interface SignatureInput {
  entry: string;
  /** The module's folder: file names in the schema are relative to it. */
  dir: string;
  /** lading.json's `object`, or undefined for the default. */
  object: string | undefined;
  /** The class named after the module (the default object), PascalCase. */
  defaultObject: string;
  /** `lading`'s declarations (dist/src/index.d.ts). */
  ladingTypes: string;
  /** `lading:NAME` → the dependency's entry file. */
  dependencies: Record<string, string>;
}

/** The schema, and the files TypeScript read for it (the module's own and its dependencies', type-only imports included): what its cache entry depends on. */
/** A module's functions and the files they were read from. */
export interface ReadSignatures {
  schema: ModuleSchema;
  files: string[];
}

export function readSignatures(input: SignatureInput): ReadSignatures {
  const paths: Record<string, string[]> = { lading: [input.ladingTypes] };
  for (const [name, file] of Object.entries(input.dependencies)) paths[`lading:${name}`] = [file];
  const program = ts.createProgram([input.entry], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowJs: true,
    checkJs: false,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    lib: ["lib.es2022.d.ts"],
    paths,
    allowImportingTsExtensions: true,
  });
  const ladingDir = dirname(input.ladingTypes);
  const files = program.getSourceFiles().filter((sf) => !program.isSourceFileDefaultLibrary(sf) && !sf.fileName.startsWith(ladingDir + "/") && !sf.fileName.includes("/node_modules/")).map((sf) => sf.fileName);
  return { schema: schemaOf(program, input), files };
}

function schemaOf(program: ts.Program, input: SignatureInput): ModuleSchema {
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(input.entry);
  if (!source) throw new LadingError("MODULE", `${input.entry}: TypeScript could not read the entry`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  const exports = moduleSymbol ? checker.getExportsOfModule(moduleSymbol) : [];
  const where = (node: ts.Node): { file: string; line: number } => {
    const sf = node.getSourceFile();
    return { file: sf.fileName, line: sf.getLineAndCharacterOfPosition(node.getStart()).line + 1 };
  };
  const objects: Record<string, ObjectSchema> = {};
  const reader = new TypeReader(checker, objects, where);

  const exported = new Map(exports.map((s) => [s.getName(), s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s]));
  const classOf = (name: string) => {
    const s = exported.get(name);
    return s && s.flags & ts.SymbolFlags.Class ? s : undefined;
  };
  if (input.object) {
    const s = classOf(input.object);
    if (!s) {
      const classes = [...exported].filter(([, v]) => v.flags & ts.SymbolFlags.Class).map(([k]) => k);
      const near = closestNames(input.object, classes);
      throw new LadingError("MODULE", `${shown(input.entry)}: object "${input.object}" is not an exported class of the entry` + (near.length ? `; did you mean ${near.join(", ")}?` : "") + (classes.length ? ` (exported classes: ${classes.join(", ")})` : " (it exports no class)") + `; export it (\`export class ${input.object} { … }\`), or fix "object" in lading.json`);
    }
    return { root: reader.object(s), objects };
  }
  const byName = classOf(input.defaultObject);
  if (byName) return { root: reader.object(byName), objects };
  const functions = [...exported].filter(([, s]) => s.flags & ts.SymbolFlags.Function);
  if (!functions.length) {
    const classes = [...exported].filter(([, v]) => v.flags & ts.SymbolFlags.Class).map(([k]) => k);
    throw new LadingError("MODULE", `${shown(input.entry)}: no functions: export a class ${input.defaultObject} (named after the module), or functions` + (classes.length ? `, or set "object" in lading.json to one of ${classes.join(", ")}` : ""));
  }
  const root: ObjectSchema = { name: input.defaultObject, doc: "", isClass: false, functions: [], fields: [] };
  objects[root.name] = root;
  for (const [name, s] of functions) {
    const decl = s.valueDeclaration ?? s.declarations?.[0];
    if (!decl) continue;
    const sig = checker.getSignaturesOfType(checker.getTypeOfSymbolAtLocation(s, decl), ts.SignatureKind.Call)[0];
    if (sig) root.functions.push(reader.fn(name, s, sig, decl));
  }
  return { root: root.name, objects };
}

class TypeReader {
  constructor(
    private readonly checker: ts.TypeChecker,
    private readonly objects: Record<string, ObjectSchema>,
    private readonly where: (n: ts.Node) => { file: string; line: number },
  ) {}

  /** Adds a class (and, through their types, the classes its functions return) to `objects`; returns its name. */
  object(symbol: ts.Symbol): string {
    const name = symbol.getName();
    if (this.objects[name]) return name;
    const o: ObjectSchema = { name, doc: this.doc(symbol), isClass: true, functions: [], fields: [] };
    this.objects[name] = o;
    const instance = this.checker.getDeclaredTypeOfSymbol(symbol);
    for (const p of this.checker.getPropertiesOfType(instance)) {
      const decl = p.valueDeclaration ?? p.declarations?.[0];
      if (!decl || isHidden(decl, p)) continue;
      if (p.flags & ts.SymbolFlags.Method) {
        const sig = this.checker.getSignaturesOfType(this.checker.getTypeOfSymbolAtLocation(p, decl), ts.SignatureKind.Call)[0];
        if (sig) o.functions.push(this.fn(p.getName(), p, sig, decl));
      } else if (p.flags & ts.SymbolFlags.Property) o.fields.push(p.getName());
    }
    return name;
  }

  fn(name: string, symbol: ts.Symbol, sig: ts.Signature, decl: ts.Node): FunctionSchema {
    const paramDocs = new Map<string, string>();
    for (const tag of symbol.getJsDocTags(this.checker)) {
      if (tag.name !== "param" || !tag.text) continue;
      const text = ts.displayPartsToString(tag.text);
      const m = /^(\S+)\s*(?:-\s*)?([\s\S]*)$/.exec(text);
      if (m) paramDocs.set(m[1]!, m[2]!.trim());
    }
    const args: ArgSchema[] = sig.getParameters().map((p) => {
      const pd = (p.valueDeclaration ?? p.declarations?.[0]) as ts.ParameterDeclaration | undefined;
      const t = pd ? this.checker.getTypeOfSymbolAtLocation(p, pd) : this.checker.getTypeOfSymbol(p);
      const optional = !!pd && (!!pd.questionToken || !!pd.initializer || this.checker.isOptionalParameter(pd) || (t.isUnion() && t.types.some((u) => u.flags & ts.TypeFlags.Undefined)));
      return {
        name: p.getName(),
        type: this.type(t),
        optional,
        ...(pd?.initializer ? { default: pd.initializer.getText() } : {}),
        doc: paramDocs.get(p.getName()) ?? "",
      };
    });
    return { name, doc: this.doc(symbol), args, returns: this.type(this.awaited(sig.getReturnType())), ...this.where(decl) };
  }

  private awaited(t: ts.Type): ts.Type {
    return this.checker.getAwaitedType(t) ?? t;
  }

  private doc(symbol: ts.Symbol): string {
    return ts.displayPartsToString(symbol.getDocumentationComment(this.checker)).trim();
  }

  type(t: ts.Type): TypeRef {
    const f = t.flags;
    if (t.isUnion()) {
      // `x?: T` and `T | undefined` are T, optional.
      const parts = t.types.filter((u) => !(u.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)));
      if (parts.length === 1) return this.type(parts[0]!);
      if (parts.every((u) => u.flags & ts.TypeFlags.BooleanLiteral)) return { kind: "boolean" };
      if (parts.every((u) => u.isLiteral() || u.flags & ts.TypeFlags.EnumLiteral)) return this.literals(t, parts);
    }
    if (f & (ts.TypeFlags.EnumLiteral | ts.TypeFlags.Enum) && !t.isUnion() && t.isLiteral()) return this.literals(t, [t]);
    if (f & ts.TypeFlags.StringLike) return t.isStringLiteral() ? { kind: "enum", values: [t.value] } : { kind: "string" };
    if (f & ts.TypeFlags.NumberLike) return { kind: "number" };
    if (f & ts.TypeFlags.BooleanLike) return { kind: "boolean" };
    if (f & (ts.TypeFlags.Void | ts.TypeFlags.Undefined)) return { kind: "void" };
    if (this.checker.isArrayType(t)) return { kind: "array", of: this.type(this.checker.getTypeArguments(t as ts.TypeReference)[0]!) };
    const s = t.getSymbol();
    if (s && CORE_TYPES.includes(s.getName() as CoreTypeName) && s.declarations?.some((d) => /[\\/]dist[\\/]src[\\/]api[\\/]/.test(d.getSourceFile().fileName))) {
      return { kind: "core", name: s.getName() as CoreTypeName };
    }
    if (s && s.flags & ts.SymbolFlags.Class) return { kind: "object", name: this.object(s) };
    return { kind: "other", text: this.checker.typeToString(t) };
  }

  private literals(whole: ts.Type, parts: ts.Type[]): TypeRef {
    const values = parts.map((u) => (u as ts.LiteralType).value as string | number);
    if (!(parts[0]!.flags & ts.TypeFlags.EnumLiteral)) return { kind: "enum", ...(whole.aliasSymbol ? { name: whole.aliasSymbol.getName() } : {}), values };
    // An enum's members: the CLI takes their names as well as their values.
    const names = parts.map((u) => u.getSymbol()?.getName() ?? String((u as ts.LiteralType).value));
    const name = this.checker.getBaseTypeOfLiteralType(parts[0]!).getSymbol()?.getName();
    return { kind: "enum", ...(name ? { name } : {}), values, names };
  }
}

/** Private, protected, #private, static, and `_`-prefixed members are not functions of the module. */
function isHidden(decl: ts.Declaration, p: ts.Symbol): boolean {
  const mods = ts.getCombinedModifierFlags(decl);
  if (mods & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected | ts.ModifierFlags.Static)) return true;
  return p.getName().startsWith("#") || p.getName().startsWith("_") || p.getName() === "constructor";
}

