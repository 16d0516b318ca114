#!/usr/bin/env node
// npm install step: builds the native addons (binding.gyp: the deflate,
// native/lading_deflate.c and vendor/libdeflate/src; the sha256 of
// native/lading_sha256.c; the exec helper's mount calls, native/lading_mount.c)
// with node-gyp, which npm bundles. They are optional: without a C compiler,
// or if the build fails, lading deflates with the committed WebAssembly build
// of the same code, which gives the same bytes ~1.4x slower, takes layer
// digests on the main thread, and mounts with util-linux's mount and umount.
// So a failure here is a notice, never a failed install. LADING_NATIVE=0
// skips the build.
import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
if (process.env.LADING_NATIVE === "0") {
  console.log("lading: LADING_NATIVE=0, native addons not built (the WebAssembly deflate and util-linux mount are used)");
  process.exit(0);
}
// npm tells its lifecycle scripts where its own node-gyp is.
const gyp = process.env.npm_config_node_gyp;
const args = ["rebuild"];
// No network to fetch Node's headers from: use the installed ones unless npm is configured otherwise.
const headers = join(dirname(process.execPath), "..", "include", "node");
if (!process.env.npm_config_nodedir && existsSync(join(headers, "node_api.h"))) args.push(`--nodedir=${join(headers, "..", "..")}`);
const [cmd, cmdArgs] = gyp ? [process.execPath, [gyp, ...args]] : ["node-gyp", args];
const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
const addons = ["lading_deflate", "lading_sha256", "lading_mount"];
const built = r.status === 0 && addons.every((a) => existsSync(`${root}/build/Release/${a}.node`));
if (built) {
  console.log(`lading: native addons built (build/Release: ${addons.map((a) => `${a}.node`).join(", ")})`);
} else {
  // A half-built tree must not be mistaken for a build.
  rmSync(`${root}/build`, { recursive: true, force: true });
  const why = r.error ? r.error.message : (r.stderr || r.stdout || "").trim().split("\n").slice(-3).join("\n");
  console.warn(`lading: native addons not built, using the WebAssembly deflate (same bytes, slower) and util-linux's mount.\n${why}`);
}
