#!/bin/sh
":" //; # Read by sh, then by node (to which each such line is a string and a comment). Node parses the file
":" //; # NODE_EXTRA_CA_CERTS names (and its own roots with it) as it starts, whether or not the command ever
":" //; # opens a TLS connection: ~25 ms of every start on a machine that sets it. The command's own TLS
":" //; # (the registry client, src/registry/transport/extra-ca.ts) reads it from LADING_EXTRA_CA_CERTS when it
":" //; # first connects, and the node below puts it back for the processes the command starts. Build module
":" //; # commands (MODULE_COMMANDS below: the user's code) and an OTLP export over https (its exporter uses
":" //; # node's roots) keep it.
":" //; if [ -n "${NODE_EXTRA_CA_CERTS-}" ]; then
":" //;   lading_keep=
":" //;   for a do case $a in call|functions|init|install|update) lading_keep=1 ;; esac; done
":" //;   case ${OTEL_EXPORTER_OTLP_TRACES_ENDPOINT-}${OTEL_EXPORTER_OTLP_ENDPOINT-} in https:*) lading_keep=1 ;; esac
":" //;   if [ -z "$lading_keep" ]; then
":" //;     LADING_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS; export LADING_EXTRA_CA_CERTS; unset NODE_EXTRA_CA_CERTS
":" //;   fi
":" //; fi
":" //; exec node "$0" "$@"
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

// Back where the user put it, for the processes this one starts (credential helpers, git, ...); what this
// process trusts was settled at its start (above).
if (process.env.LADING_EXTRA_CA_CERTS && process.env.NODE_EXTRA_CA_CERTS === undefined) process.env.NODE_EXTRA_CA_CERTS = process.env.LADING_EXTRA_CA_CERTS;
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
