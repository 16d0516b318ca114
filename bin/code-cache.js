// Runs a CommonJS bundle through V8's code cache: the command's bundle
// (bin/lading.js) and the library's (dist/lib/loader.js, for `import
// "lading"`). Node 20 keeps a code cache only for scripts (vm.Script
// cachedData), not for ES modules (module.enableCompileCache is 22.1+);
// with it, a run compiles almost nothing of what an earlier run compiled.
"use strict";
const { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } = require("node:fs");
const { createRequire } = require("node:module");
const { dirname, join } = require("node:path");
const vm = require("node:vm");

/**
 * Runs `bundle` (whose stat is `st`) as a CommonJS module; returns its exports.
 * `name`: which cache (V8 caches the functions a run has compiled, and each
 * command runs different ones); `dirs`: where caches are, first writable wins
 * (each holds the caches of this bundle only: older ones are removed);
 * `extra`: more names the bundle is run with, beside require and module.
 */
function runCached(bundle, st, name, dirs, extra = {}) {
  const source = readFileSync(bundle, "utf8");
  // V8 checks a cache against the source's length only: the bundle's size and mtime name the cache, so a rebuilt bundle never meets an old one.
  const build = `${st.size}-${Math.floor(st.mtimeMs)}-${process.version}-${process.arch}`;
  const key = `${name}-${build}`;
  let cachedData;
  for (const d of dirs) {
    try {
      cachedData = readFileSync(join(d, key));
      break;
    } catch {
      // not cached there
    }
  }
  const params = ["exports", "require", "module", "__filename", "__dirname", ...Object.keys(extra)].join(", ");
  const script = new vm.Script(`(function (${params}) {${source}\n})`, { filename: bundle, cachedData });
  if (cachedData === undefined || script.cachedDataRejected) {
    // Written at exit, when the run has compiled what it needed; a failed write only means no cache next time.
    // Only after a run that worked: a usage error compiles next to nothing.
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
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle), ...Object.values(extra));
  return module.exports;
}

module.exports = { runCached };
