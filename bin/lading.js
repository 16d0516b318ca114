#!/usr/bin/env node
// Start-up time is a feature: this file runs the one-file bundle of the CLI
// (dist/lading-cli.cjs, made by scripts/bundle-cli.mjs) through V8's code
// cache, so a command compiles almost nothing before it works; without a
// bundle, or one older than dist/src (a checkout rebuilt with tsc alone),
// dist/src as it is.
//
// CommonJS (bin/package.json says so): an ES module entry would start Node's
// ESM loader, and its facades of every built-in imported, for nothing.
"use strict";
const { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } = require("node:fs");
const { homedir } = require("node:os");
const { dirname, join } = require("node:path");
const { pathToFileURL } = require("node:url");
const vm = require("node:vm");

const COMMANDS = new Set(["main", "help", "build", "inspect", "images", "rmi", "pull", "push", "login", "logout", "df", "prune", "fsck", "trace"]);
const bundle = join(__dirname, "..", "dist", "lading-cli.cjs");
const entry = join(__dirname, "..", "dist", "src", "cli", "main.js");
let st;
try {
  st = statSync(bundle);
  // tsc rewrites every output: a main.js newer than the bundle means the bundle was made from older sources.
  if (statSync(entry).mtimeMs > st.mtimeMs) st = undefined;
} catch {
  st = undefined;
}
// Build modules import "lading" itself (the library bundle, dist/lib, made with this one): their commands run
// from its cli.js, where the module's `dag` and the command's client are one and the same instance (this
// bundle has its own copy); from dist/src when the library bundle is older than it too (its modules then
// import dist/src).
const MODULE_COMMANDS = new Set(["call", "functions", "init", "install", "update"]);
if (process.argv.slice(2).some((a) => MODULE_COMMANDS.has(a))) {
  const lib = join(__dirname, "..", "dist", "lib", "cli.js");
  let fresh = false;
  try {
    fresh = statSync(join(__dirname, "..", "dist", "lib", "lading.js")).mtimeMs >= statSync(entry).mtimeMs;
  } catch {
    // no library bundle
  }
  import(pathToFileURL(fresh ? lib : entry).href).then((m) => m.runCli());
} else if (!st) import(pathToFileURL(entry).href).then((m) => m.runCli());
else {
  const source = readFileSync(bundle, "utf8");
  // One cache per command: V8 caches the functions a run has compiled, and each command runs different ones
  // (`push --help` compiles little of what a push does: help has its own).
  const args = process.argv.slice(2);
  const command = args.some((a) => a === "--help" || a === "-h") ? "help" : (args.find((a) => !a.startsWith("-")) ?? "main");
  // V8 checks a cache against the source's length only: the bundle's size and mtime name the cache, so a rebuilt bundle never meets an old one.
  const build = `${st.size}-${Math.floor(st.mtimeMs)}-${process.version}-${process.arch}`;
  const key = `${COMMANDS.has(command) ? command : "other"}-${build}`;
  const dirs = [join(dirname(bundle), ".code-cache"), join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "lading", "code-cache")];
  let cachedData;
  for (const d of dirs) {
    try {
      cachedData = readFileSync(join(d, key));
      break;
    } catch {
      // not cached there
    }
  }
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: bundle, cachedData });
  if (cachedData === undefined || script.cachedDataRejected) {
    // Written at exit, when the run has compiled what this command needs; a failed write only means no cache next time.
    // Only after a run that worked: a usage error compiles next to nothing of its command.
    process.once("exit", (code) => {
      if (code !== 0) return;
      const data = script.createCachedData();
      for (const d of dirs) {
        try {
          mkdirSync(d, { recursive: true });
          const tmp = join(d, `.${key}.${process.pid}`);
          const fd = openSync(tmp, "w", 0o644);
          writeSync(fd, data);
          closeSync(fd);
          renameSync(tmp, join(d, key));
          // Caches of other bundles or Node versions will never be read again.
          for (const old of readdirSync(d)) if (!old.endsWith(build) && !old.startsWith(".")) rmSync(join(d, old), { force: true });
          return;
        } catch {
          // read-only install: try the user's cache folder
        }
      }
    });
  }
  const module = { exports: {} };
  script.runInThisContext()(module.exports, require("node:module").createRequire(bundle), module, bundle, dirname(bundle));
  module.exports.runCli();
}
