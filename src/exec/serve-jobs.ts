/**
 * The exec helper's job loop. runExec spawns the helper's entry (the
 * engine's exec-helper.ts, which binds the real store and calls
 * serveExecJobs) inside
 * lading's namespaces (see identity.ts) and sends it jobs over node's IPC
 * channel, one at a time. The helper answers each with debug lines, the
 * command's output and one result. It stays for the next job: starting node
 * in the namespaces is most of an exec's fixed cost, and a build runs many.
 * runExec retires a helper after a failed job (mounts it may have left die
 * with its mount namespace) and after a podman job (podman's tmpfs mounts
 * stay in the namespace).
 *
 * If lading dies (even by SIGKILL) the IPC channel closes and the helper
 * kills the container before exiting; SIGINT/SIGTERM do the same.
 */
import { LadingError } from "../errors.js";
import { execJob, type Running } from "./exec-job.js";
import type { OpenExecStore } from "./exec-store.js";
import type { HelperJob, HelperMessage, OutputSink } from "./job.js";
import { reapJob } from "./reap-job.js";
import { reclaimJob } from "./reclaim-job.js";

// What the helper makes in root filesystems (snapshot folders, parents a
// layer leaves implicit, stubs) and what the runtime inherits must not
// depend on the user's umask: an image is the same whoever builds it (issue 19).
process.umask(0o022);

let running: Running | undefined;
let stopping = false;
let queue: Promise<void> = Promise.resolve();
/** Jobs received and not yet answered; clean-ups wait until there are none. */
let active = 0;
let idleWaiters: Array<() => void> = [];

function whenIdle(): Promise<void> {
  if (active === 0 || stopping) return Promise.resolve();
  return new Promise((resolve) => idleWaiters.push(resolve));
}

function wakeIdle(): void {
  const waiters = idleWaiters;
  idleWaiters = [];
  for (const w of waiters) w();
}

function send(m: HelperMessage): void {
  if (process.connected) process.send!(m);
}

/** Output rides the IPC channel; the runtime's pipe waits while the channel is backed up. */
const output: OutputSink = (stream, chunk) =>
  new Promise<void>((resolve) => {
    if (!process.connected) return resolve();
    process.send!({ type: "output", stream, data: chunk } satisfies HelperMessage, undefined, {}, () => resolve());
  });

async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  wakeIdle();
  await running?.kill().catch(() => {});
  // The job's finally blocks (unmount, remove the work dir) run as the run fails.
  setTimeout(() => process.exit(code), 2000).unref();
}


/** Resolves once the job has answered; its clean-up (unmount, removing the work dir) waits until the helper is idle. */
function serve(job: HelperJob, openStore: OpenExecStore): Promise<void> {
  if (stopping) {
    active--;
    return Promise.resolve();
  }
  return new Promise<void>((resolve) => {
    let done = false;
    const answered = () => {
      if (done) return;
      done = true;
      if (--active === 0) wakeIdle();
      resolve();
    };
    const reply = (m: HelperMessage) => {
      send(m);
      answered();
    };
    const work =
      job.kind === "exec"
        ? execJob(job, openStore, send, reply, output, (r) => (running = r), () => stopping, whenIdle)
        : job.kind === "reap"
          ? reapJob(job, send, openStore)
          : reclaimJob(job, send);
    work.then(answered, (err: unknown) => {
      const e = err as { message?: string };
      reply({ type: "error", code: err instanceof LadingError ? err.code : "INTERNAL", message: e?.message ?? String(err) });
    });
  });
}

/** Serves the jobs runExec sends until lading goes; `openStore` opens the store a job names. */
export function serveExecJobs(openStore: OpenExecStore): void {
  process.on("disconnect", () => void stop(137));
  process.on("SIGINT", () => void stop(130));
  process.on("SIGTERM", () => void stop(143));
  process.on("message", (job: HelperJob) => {
    active++;
    queue = queue.then(() => serve(job, openStore));
  });
}
