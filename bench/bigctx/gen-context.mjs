#!/usr/bin/env node
// Makes the build contexts of the big-context benchmark (bench/bigctx/run.mjs).
// Usage: node bench/bigctx/gen-context.mjs KIND DIR
//   payload    the shared payload (shared/bench/gen-payload.py): 20,000 files, ~197 MB
//   copies:N   N real copies of the payload side by side (DIR/copy-0 … copy-N-1)
//   links:N    the same names, but copy-1 … are hard links of copy-0's files
//   small:N    N small text files (32–480 bytes) in directories of 1,000
// DIR must not exist. Everything is deterministic (contents, names, modes,
// mtimes fixed to 2023-11-14T22:13:20Z), so two runs give the same layer.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sharedPath } from "../shared.mjs";

const MTIME = 1_700_000_000;
const PER_DIR = 1000;

/** Context KIND's folder in $BENCH_CONTEXTS (default /var/tmp/lading-bigctx), made there the first time it is asked for. */
export function contextDir(kind) {
  const dir = join(process.env.BENCH_CONTEXTS ?? "/var/tmp/lading-bigctx", kind.replace(":", "-"));
  if (!existsSync(dir)) generate(kind, dir);
  return dir;
}

export function generate(kind, dir) {
  if (existsSync(dir)) throw new Error(`${dir} exists already`);
  const [name, arg] = kind.split(":");
  const n = Number(arg);
  if (name === "payload") return payload(dir);
  if ((name === "copies" || name === "links") && n >= 1) {
    mkdirSync(dir);
    payload(join(dir, "copy-0"));
    // cp -a keeps modes and times; -l makes the files hard links instead of copies.
    for (let i = 1; i < n; i++) execFileSync("cp", [name === "links" ? "-al" : "-a", join(dir, "copy-0"), join(dir, `copy-${i}`)]);
    utimesSync(dir, MTIME, MTIME);
    return;
  }
  if (name === "small" && n >= 1) return small(dir, n);
  throw new Error(`unknown context kind ${JSON.stringify(kind)}: payload, copies:N, links:N or small:N`);
}

function payload(dir) {
  execFileSync("python3", [sharedPath("bench/gen-payload.py"), dir], { stdio: "ignore" });
}

/** N files of 32–480 bytes of line-numbered text, from a fixed linear congruential sequence. */
function small(dir, n) {
  let seed = 42;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  const words = ["layer", "blob", "tar", "hash", "digest", "index", "manifest", "config", "store", "walk", "entry", "link"];
  const dirs = Math.ceil(n / PER_DIR);
  for (let d = 0; d < dirs; d++) {
    const sub = join(dir, `d${String(Math.floor(d / 100)).padStart(2, "0")}`, `m${String(d % 100).padStart(2, "0")}`);
    mkdirSync(sub, { recursive: true });
    for (let f = 0; f < PER_DIR && d * PER_DIR + f < n; f++) {
      const size = 32 + (rand() % 449);
      let text = `// file ${d * PER_DIR + f}\n`;
      while (text.length < size) text += `${words[rand() % words.length]} ${rand() % 1000}\n`;
      const p = join(sub, `f${String(f).padStart(3, "0")}.txt`);
      writeFileSync(p, text.slice(0, size), { mode: 0o644 });
      utimesSync(p, MTIME, MTIME);
    }
    utimesSync(sub, MTIME, MTIME);
  }
  for (let top = 0; top * 100 < dirs; top++) utimesSync(join(dir, `d${String(top).padStart(2, "0")}`), MTIME, MTIME);
  utimesSync(dir, MTIME, MTIME);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [kind, dir] = process.argv.slice(2);
  if (!kind || !dir) {
    console.error("usage: node bench/bigctx/gen-context.mjs payload|copies:N|links:N|small:N DIR");
    process.exit(2);
  }
  generate(kind, dir);
}
