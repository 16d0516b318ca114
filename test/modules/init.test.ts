/**
 * `lading init` (issue 15): a new module that works at once: lading.json,
 * a starter entry that `lading functions` lists and `lading call` runs, and
 * a tsconfig.json an editor (tsc) type-checks with, without installing
 * lading into the module.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { lading } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { makeBusyboxLayout, type TestImage } from "../helpers/images.js";

const TSC = fileURLToPath(new URL("../../../node_modules/typescript/bin/tsc", import.meta.url));
const t = tempDir("lading-modules-init-");
const env = { LADING_HOME: join(t.path, "store") };
let busybox: TestImage;

before(async () => {
  busybox = await makeBusyboxLayout(join(t.path, "busybox"));
});
after(() => t.cleanup());

function tsc(project: string): { code: number; out: string } {
  try {
    return { code: 0, out: execFileSync(process.execPath, [TSC, "-p", project], { encoding: "utf8" }) };
  } catch (err) {
    return { code: (err as { status: number }).status, out: String((err as { stdout: string }).stdout) };
  }
}

test("init --name --entry writes a module that lists, runs and type-checks", async () => {
  const dir = join(t.path, "demo");
  const r = await lading(["init", dir, "--name", "demo", "--entry", "ci/main.ts"], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, "lading.json"), "utf8")), { name: "demo", entry: "ci/main.ts" });
  assert.ok(existsSync(join(dir, "ci", "main.ts")));
  const config = JSON.parse(readFileSync(join(dir, "tsconfig.json"), "utf8")) as { compilerOptions: { paths: Record<string, string[]> } };
  assert.ok(existsSync(config.compilerOptions.paths.lading![0]!), "lading's declarations, where they are");

  const fns = await lading(["functions", "-m", dir], { env });
  assert.match(fns.stdout, /^Demo: /);
  assert.match(fns.stdout, /build → Container\n    Copies the sources into a busybox image and lists them.\n    --src Directory  The sources/);

  const src = join(t.path, "src");
  mkdirSync(src);
  writeFileSync(join(src, "a.txt"), "a\n");
  const run = await lading(["call", "-m", dir, "build", "--src", src, "--image", busybox.ref, "stdout"], { env });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /a\.txt\n$/);

  const checked = tsc(join(dir, "tsconfig.json"));
  assert.equal(checked.code, 0, checked.out);
  writeFileSync(join(dir, "ci", "wrong.ts"), 'import { dag } from "lading";\nexport const n: number = dag.container();\n');
  const wrong = tsc(join(dir, "tsconfig.json"));
  assert.match(wrong.out, /wrong\.ts\(2,14\): error TS2322: Type 'Container' is not assignable to type 'number'/, "lading's types are really seen");
});

test("init in a folder: the folder's name, index.ts; a second init is refused and changes nothing", async () => {
  const dir = join(t.path, "My_Tools");
  mkdirSync(dir);
  const r = await lading(["init"], { env, cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, "lading.json"), "utf8")), { name: "my-tools" });
  assert.match(readFileSync(join(dir, "index.ts"), "utf8"), /export class MyTools \{/);
  const before = readFileSync(join(dir, "lading.json"), "utf8");
  const again = await lading(["init", "--name", "other"], { env, cwd: dir });
  assert.equal(again.code, 2);
  assert.match(again.stderr, /lading.json already exists; this is a module already/);
  assert.equal(readFileSync(join(dir, "lading.json"), "utf8"), before);
  const bad = await lading(["init", join(t.path, "x"), "--entry", "../outside.ts"], { env });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--entry \.\.\/outside\.ts: give a \.ts, \.mts, \.js or \.mjs path inside the module/);
});
