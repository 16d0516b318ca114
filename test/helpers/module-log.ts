/**
 * Preloaded with `node --import` by test/cli/startup-loads.test.ts: writes
 * to $LADING_MODULE_LOG, one line each, what the process loaded —
 * `url <ES module URL>` for every module through the ESM loader (dist/src
 * run unbundled), `builtin <name>` for every Node built-in at exit
 * (process.moduleLoadList, which sees the bundle's require()s too),
 * `cjs <file>` for every CommonJS file required (at exit: what a bundle
 * require()s from node_modules, which the ESM loader does not see) and
 * `worker <file>` for every worker thread started.
 */
import { appendFileSync } from "node:fs";
import { createRequire, register, syncBuiltinESMExports } from "node:module";
import worker_threads from "node:worker_threads";

const log = process.env.LADING_MODULE_LOG;
if (!log) throw new Error("module-log.js needs $LADING_MODULE_LOG");

register(
  "data:text/javascript," +
    encodeURIComponent(`
import { appendFileSync } from "node:fs";
export async function load(url, context, next) {
  appendFileSync(${JSON.stringify(log)}, "url " + url + "\\n");
  return next(url, context);
}`),
);

const Original = worker_threads.Worker;
worker_threads.Worker = class extends Original {
  constructor(file: string | URL, opts?: worker_threads.WorkerOptions) {
    appendFileSync(log!, `worker ${String(file)}\n`);
    super(file, opts);
  }
};
syncBuiltinESMExports();

process.on("exit", () => {
  const list = (process as unknown as { moduleLoadList: string[] }).moduleLoadList;
  const names = list.filter((m) => m.startsWith("NativeModule ")).map((m) => m.slice("NativeModule ".length));
  appendFileSync(log, names.map((n) => `builtin ${n}\n`).join(""));
  appendFileSync(log, Object.keys(createRequire(import.meta.url).cache).map((f) => `cjs ${f}\n`).join(""));
});
