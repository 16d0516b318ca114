/**
 * The exec helper's entry point: runExec spawns `node inside.js` inside
 * lading's namespaces (see identity.ts) and sends it one job over node's
 * IPC channel. The helper answers with debug lines and one result; the
 * container's output goes straight to the helper's stdout/stderr pipes.
 *
 * If lading dies (even by SIGKILL) the IPC channel closes and the helper
 * kills the container before exiting; SIGINT/SIGTERM do the same.
 */
import { LadingError } from "../errors.js";
import { execJob, type Running } from "./exec-job.js";
import type { HelperJob, HelperMessage } from "./job.js";
import { reapJob } from "./reap-job.js";

let running: Running | undefined;
let stopping = false;

function send(m: HelperMessage): void {
  if (process.connected) process.send!(m);
}

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  await running?.kill().catch(() => {});
  // The job's finally blocks (unmount, remove the work dir) run as the run fails.
  setTimeout(() => process.exit(code), 2000).unref();
}

process.on("disconnect", () => void stop(137));
process.on("SIGINT", () => void stop(130));
process.on("SIGTERM", () => void stop(143));

process.once("message", (job: HelperJob) => {
  const work = job.kind === "exec" ? execJob(job, send, (r) => (running = r), () => stopping) : reapJob(job, send);
  work.then(
    () => {
      if (process.connected) process.disconnect();
    },
    (err: unknown) => {
      const e = err as { code?: string; message?: string };
      send({ type: "error", code: err instanceof LadingError ? err.code : "INTERNAL", message: e?.message ?? String(err) });
      if (process.connected) process.disconnect();
      process.exitCode = 1;
    },
  );
});
