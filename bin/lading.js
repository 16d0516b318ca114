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
const { statSync } = require("node:fs");
const { homedir } = require("node:os");
const { dirname, join } = require("node:path");
const { pathToFileURL } = require("node:url");

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
    fresh = statSync(join(__dirname, "..", "dist", "lib", "lading.cjs")).mtimeMs >= statSync(entry).mtimeMs;
  } catch {
    // no library bundle
  }
  import(pathToFileURL(fresh ? lib : entry).href).then((m) => m.runCli());
} else if (!st) import(pathToFileURL(entry).href).then((m) => m.runCli());
else {
  // One cache per command: V8 caches the functions a run has compiled, and each command runs different ones
  // (`push --help` compiles little of what a push does: help has its own).
  const args = process.argv.slice(2);
  const command = args.some((a) => a === "--help" || a === "-h") ? "help" : (args.find((a) => !a.startsWith("-")) ?? "main");
  const dirs = [join(dirname(bundle), ".code-cache"), join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "lading", "code-cache")];
  require("./code-cache.js").runCached(bundle, st, COMMANDS.has(command) ? command : "other", dirs).runCli();
}
