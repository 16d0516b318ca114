#!/usr/bin/env node
// `npm run bench`: runs the benchmarks (bench/<name>/run.mjs, see
// bench/README.md) one after the other, each in its own node process, and
// says at the end which ones failed. Any benchmark can still be run alone.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..");

const USAGE = `Usage: npm run bench -- [--runs N] [NAME...]
       npm run bench -- --list | --help

Runs the benchmarks NAME (default: all, in name order), one after the other.
--runs N   runs per case, given to each benchmark (as its first argument,
           and as BENCH_RUNS for those that read it); default: each one's own
--list     the benchmarks, with what each measures
Benchmarks import dist/: build first (npx tsc -p tsconfig.json). Some need
root (buildah's storage, runc); bench/README.md has each one's arguments
and results.`;

/** The benchmarks: every bench/<name>/run.mjs, with its opening comment as the description. */
function benchmarks() {
  return readdirSync(here, { withFileTypes: true })
    // compat/ is the compatibility runner (it takes folders of Containerfiles), not a benchmark.
    .filter((d) => d.isDirectory() && d.name !== "compat" && existsSync(join(here, d.name, "run.mjs")))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const lines = readFileSync(join(here, name, "run.mjs"), "utf8").split("\n");
      const comment = [];
      for (const l of lines.slice(lines[0]?.startsWith("#!") ? 1 : 0)) {
        if (!l.startsWith("//")) break;
        comment.push(l.replace(/^\/\/ ?/, ""));
      }
      const text = comment.join(" ").replace(/\s+/g, " ").trim();
      // The first sentence; the file's opening comment and bench/README.md have the rest.
      const first = /^.*?\.(?=\s|$)/.exec(text)?.[0] ?? text;
      return { name, script: join(here, name, "run.mjs"), about: first.length > 160 ? first.slice(0, 159) + "…" : first };
    });
}

function parseArgs(argv) {
  const opts = { names: [], runs: undefined, list: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--help" || a === "-h") opts.help = true;
    else if (a === "--list") opts.list = true;
    else if (a === "--runs" || a.startsWith("--runs=")) {
      const v = a === "--runs" ? argv[++i] : a.slice("--runs=".length);
      if (!v || !/^[1-9]\d*$/.test(v)) throw new Error(`--runs needs a whole number ≥ 1 (got ${v === undefined ? "nothing" : JSON.stringify(v)})`);
      opts.runs = v;
    } else if (a.startsWith("-")) throw new Error(`unknown option ${a}`);
    else opts.names.push(a);
  }
  return opts;
}

/** Runs one benchmark with the terminal; resolves to its exit code. The child is ended by its PID if we are interrupted. */
function runOne(bench, runs) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bench.script, ...(runs ? [runs] : [])], {
      cwd: repo,
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, ...(runs ? { BENCH_RUNS: runs } : {}) },
    });
    const forward = (sig) => {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, sig);
    };
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    child.on("error", (err) => {
      console.error(`bench ${bench.name}: ${err.message}`);
      resolve(1);
    });
    child.on("close", (code, signal) => {
      process.off("SIGINT", forward);
      process.off("SIGTERM", forward);
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`bench: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  const all = benchmarks();
  if (opts.list) {
    for (const b of all) console.log(`${b.name.padEnd(10)} ${b.about}`);
    return 0;
  }
  const unknown = opts.names.filter((n) => !all.some((b) => b.name === n));
  if (unknown.length) {
    console.error(`bench: no benchmark named ${unknown.join(", ")}; there are: ${all.map((b) => b.name).join(", ")}`);
    return 2;
  }
  if (!existsSync(join(repo, "dist", "src", "index.js"))) {
    console.error("bench: dist/ is not built; run `npx tsc -p tsconfig.json` first");
    return 2;
  }
  const chosen = opts.names.length ? all.filter((b) => opts.names.includes(b.name)) : all;
  const failed = [];
  for (const b of chosen) {
    console.log(`\n== bench ${b.name} ==`);
    const code = await runOne(b, opts.runs);
    if (code !== 0) failed.push(`${b.name} (exit ${code})`);
  }
  console.log(failed.length ? `\nbench: ${chosen.length - failed.length} of ${chosen.length} finished; failed: ${failed.join(", ")}` : `\nbench: all ${chosen.length} finished`);
  return failed.length ? 1 : 0;
}

process.exitCode = await main();
