/**
 * DESIGN.md's layering, checked by dependency-cruiser with the rules in
 * .dependency-cruiser.cjs: no import cycle (type-only ones included), the
 * CLI and frontends on the public API, oci/ registry/ exec/ below store/
 * and engine/. A second test shows the rules bite on a tree that breaks them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync, copyFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir } from "../helpers/tmp.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const depcruise = join(root, "node_modules", ".bin", "depcruise");

function cruise(cwd: string, config: string): { code: number; out: string } {
  const r = spawnSync(depcruise, ["src", "--config", config, "--output-type", "err"], { cwd, encoding: "utf8" });
  return { code: r.status ?? 1, out: `${r.stdout}${r.stderr}` };
}

test("src/ keeps DESIGN.md's layering: no cycles, arrows pointing down", () => {
  const r = cruise(root, join(root, ".dependency-cruiser.cjs"));
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /no dependency violations found/);
});

test("the rules fail a tree with a cycle, a type-only one included, and a part reaching up", () => {
  const t = tempDir("lading-layering-");
  try {
    mkdirSync(join(t.path, "src", "oci"), { recursive: true });
    mkdirSync(join(t.path, "src", "engine"), { recursive: true });
    copyFileSync(join(root, "tsconfig.json"), join(t.path, "tsconfig.json"));
    writeFileSync(join(t.path, "src", "oci", "a.ts"), 'import type { B } from "./b.js";\nexport interface A { b?: B }\n');
    writeFileSync(join(t.path, "src", "oci", "b.ts"), 'import type { A } from "./a.js";\nimport { e } from "../engine/e.js";\nexport interface B { a?: A }\nexport const x = e;\n');
    writeFileSync(join(t.path, "src", "engine", "e.ts"), "export const e = 1;\n");
    mkdirSync(join(t.path, "src", "git"), { recursive: true });
    mkdirSync(join(t.path, "src", "store"), { recursive: true });
    writeFileSync(join(t.path, "src", "store", "s.ts"), "export const s = 1;\n");
    writeFileSync(join(t.path, "src", "git", "g.ts"), 'import { s } from "../store/s.js";\nimport { e } from "../engine/e.js";\nexport const g = s + e;\n');
    const r = cruise(t.path, join(root, ".dependency-cruiser.cjs"));
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, /no-circular: src\/oci\/(a|b)\.ts/);
    assert.match(r.out, /parts-below-engine: src\/oci\/b\.ts → src\/engine\/e\.ts/);
    assert.match(r.out, /parts-below-engine: src\/git\/g\.ts → src\/engine\/e\.ts/);
    assert.match(r.out, /parts-below-store: src\/git\/g\.ts → src\/store\/s\.ts/);
  } finally {
    t.cleanup();
  }
});
