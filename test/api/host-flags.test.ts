// The library must work whatever flags the host process runs with: its gzip
// worker threads once inherited the host's flags and died on some of them
// (`node --input-type=module -e …`: ERR_INPUT_TYPE_NOT_ALLOWED in every worker).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir } from "../helpers/tmp.js";
import { connect } from "../../src/index.js";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const t = tempDir("lading-host-flags-");
after(t.cleanup);

// A user's project: `lading` installed (a link to this repository) beside the scripts.
const project = join(t.path, "project");
const ctx = join(t.path, "ctx");

/**
 * Six files of ~1 MiB of text: several 1 MiB gzip blocks, more than the two
 * that gzip-blocks.ts compresses on the main thread, so the worker pool runs.
 */
before(() => {
  mkdirSync(join(project, "node_modules"), { recursive: true });
  symlinkSync(root, join(project, "node_modules", "lading"));
  mkdirSync(ctx);
  for (let f = 0; f < 6; f++) {
    const lines: string[] = [];
    for (let i = 0; i < 30_000; i++) lines.push(`file ${f} line ${i}: ${(i * 7919) % 10007} ${"abcdefghij".repeat(1 + (i % 3))}`);
    writeFileSync(join(ctx, `f${f}.txt`), lines.join("\n"));
    utimesSync(join(ctx, `f${f}.txt`), 1_700_000_000, 1_700_000_000);
  }
  utimesSync(ctx, 1_700_000_000, 1_700_000_000);
});

const build = (store: string) =>
  `const d = await connect(async (client) => client.container().withDirectory("/data", client.host().directory(${JSON.stringify(ctx)})).digest(), { store: ${JSON.stringify(store)} });
process.stdout.write(d);`;

const esm = (store: string) => `import { connect } from "lading";\n${build(store)}`;
const cjs = (store: string) => `import("lading").then(async ({ connect }) => {\n${build(store)}\n}).catch((e) => { console.error(e); process.exitCode = 1; });`;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs node with `args` in the project; the child is killed by its PID if it is still there at the end. */
async function runNode(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const child = spawn(process.execPath, args, { cwd: project, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  try {
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    return await new Promise<Run>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
  } finally {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, "SIGKILL");
  }
}

function digestOf(r: Run, what: string): string {
  assert.equal(r.code, 0, `${what}: exit ${r.code ?? r.signal}\n${r.stderr}`);
  assert.match(r.stdout, /^sha256:[a-f0-9]{64}$/, what);
  return r.stdout;
}

let expected: string;
before(async () => {
  expected = await connect(async (client) => client.container().withDirectory("/data", client.host().directory(ctx)).digest(), { store: join(t.path, "store-in-process") });
});

test("from `node -e` (CommonJS, dynamic import): the same digest as in process", async () => {
  assert.equal(digestOf(await runNode(["-e", cjs(join(t.path, "s-cjs"))]), "node -e"), expected);
});

test("from `node --input-type=module -e`: the same digest as in process", async () => {
  assert.equal(digestOf(await runNode(["--input-type=module", "-e", esm(join(t.path, "s-esm"))]), "--input-type=module"), expected);
});

test("with --input-type=module in NODE_OPTIONS: the same digest as in process", async () => {
  const r = await runNode(["--input-type=module", "-e", esm(join(t.path, "s-env"))], { NODE_OPTIONS: "--input-type=module" });
  assert.equal(digestOf(r, "NODE_OPTIONS=--input-type=module"), expected);
});

test("a script run with `--import` of a register module: the same digest, and the hooks load once, in the host", async () => {
  writeFileSync(join(project, "hooks.mjs"), "export async function resolve(specifier, context, next) { return next(specifier, context); }\n");
  writeFileSync(join(project, "register.mjs"), 'import { register } from "node:module";\nregister("./hooks.mjs", import.meta.url);\nprocess.stderr.write("register.mjs ran\\n");\n');
  writeFileSync(join(project, "build.mjs"), esm(join(t.path, "s-import")));
  const r = await runNode(["--import", "./register.mjs", "build.mjs"]);
  assert.equal(digestOf(r, "--import"), expected);
  assert.equal(r.stderr.split("register.mjs ran").length - 1, 1, r.stderr);
});

test("with --inspect=0: the same digest, and the process ends", async () => {
  writeFileSync(join(project, "inspect.mjs"), esm(join(t.path, "s-inspect")));
  const r = await runNode(["--inspect=0", "inspect.mjs"]);
  assert.match(r.stderr, /Debugger listening on ws:\/\/127\.0\.0\.1:\d+\//);
  assert.equal(digestOf(r, "--inspect=0"), expected);
});
