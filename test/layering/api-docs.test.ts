/**
 * Every public method of the API's classes says what it does, each of its
 * parameters (@param) and how it is called (@example): the TSDoc is what
 * an editor shows a user, and the `.d.ts` ships it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { REPO_ROOT } from "../helpers/shared.js";

const API = join(REPO_ROOT, "src", "api");

function undocumented(file: string): string[] {
  const sf = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isClassDeclaration(node) && node.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) {
      for (const m of node.members) {
        if (!ts.isMethodDeclaration(m) && !ts.isGetAccessorDeclaration(m)) continue;
        if (m.modifiers?.some((x) => x.kind === ts.SyntaxKind.PrivateKeyword || x.kind === ts.SyntaxKind.ProtectedKeyword)) continue;
        const docs = ts.getJSDocCommentsAndTags(m).filter(ts.isJSDoc);
        const tags = docs.flatMap((d) => [...(d.tags ?? [])]);
        if (tags.some((t) => t.tagName.text === "internal")) continue;
        const problems: string[] = [];
        if (!docs.length) problems.push("no TSDoc");
        if (!tags.some((t) => t.tagName.text === "example")) problems.push("no @example");
        for (const p of m.parameters) {
          const name = p.name.getText(sf);
          if (!tags.some((t) => ts.isJSDocParameterTag(t) && t.name.getText(sf) === name)) problems.push(`no @param ${name}`);
        }
        if (problems.length) out.push(`${node.name?.text}.${m.name.getText(sf)}: ${problems.join(", ")}`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

test("every public method of api/'s classes has TSDoc with @param for each parameter and an @example", () => {
  const files = readdirSync(API).filter((n) => n.endsWith(".ts"));
  assert.ok(files.length >= 5, `api/ has ${files.length} files`);
  const problems = files.flatMap((f) => undocumented(join(API, f)).map((p) => `src/api/${f}: ${p}`));
  assert.deepEqual(problems, []);
});
