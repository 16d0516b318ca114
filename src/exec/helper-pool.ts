/**
 * Exec helpers kept between jobs. Most of an exec's fixed cost is starting
 * node in the helper's namespaces (~100 ms), so a helper that finished a job
 * cleanly waits for the next one, and one is started ahead of need when
 * none is waiting. Waiting helpers are unreferenced, so they never keep
 * lading alive, and they exit by themselves when lading goes (their IPC
 * channel closes). At most one waits per namespace set-up.
 * LADING_SPARE_HELPER=0 turns both off: every job gets a new helper.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Readable } from "node:stream";
import { helperEnv, unshareArgs, type Identity } from "./identity.js";

const idle = new Map<string, ChildProcess>();

type Refable = { ref?: () => void; unref?: () => void };

function keyOf(unshare: string, helper: string, identity: Identity): string {
  return JSON.stringify([unshare, helper, identity]);
}

function setRef(child: ChildProcess, on: boolean): void {
  const handles: Array<Refable | null | undefined> = [child, child.channel as Refable | undefined, child.stdout as Readable & Refable, child.stderr as Readable & Refable];
  for (const h of handles) (on ? h?.ref : h?.unref)?.call(h);
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null && child.connected;
}

function start(unshare: string, helper: string, identity: Identity): ChildProcess {
  const key = keyOf(unshare, helper, identity);
  // --no-warnings: nothing of node's own should mix into what the helper reports.
  const child = spawn(unshare, [...unshareArgs(identity), "--", process.execPath, "--no-warnings", helper], {
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    env: helperEnv(),
    // Buffers (the command's output) cross the channel as bytes, not as JSON arrays.
    serialization: "advanced",
    // Its own process group: a terminal's Ctrl-C reaches lading, which stops the helper in order.
    detached: true,
  });
  child.on("error", () => {});
  // Drained between jobs too; a job adds its own listener to keep the helper's own messages.
  child.stdout!.resume();
  child.stderr!.resume();
  child.on("exit", () => {
    if (idle.get(key) === child) idle.delete(key);
  });
  return child;
}

/** A helper ready for one job: a waiting one when it fits and is alive, else a new one. */
export function takeHelper(unshare: string, helper: string, identity: Identity): ChildProcess {
  const key = keyOf(unshare, helper, identity);
  const waiting = idle.get(key);
  idle.delete(key);
  if (waiting && alive(waiting)) {
    setRef(waiting, true);
    return waiting;
  }
  return start(unshare, helper, identity);
}

/**
 * Gives a helper back after its job answered: kept for the next job when
 * `reuse` (and none waits already), else let go (it exits when its channel
 * closes), and then a fresh one is started ahead of the next job.
 */
export function releaseHelper(child: ChildProcess, unshare: string, helper: string, identity: Identity, reuse: boolean, spare: boolean): void {
  const key = keyOf(unshare, helper, identity);
  if (reuse && spare && alive(child) && !idle.has(key)) {
    setRef(child, false);
    idle.set(key, child);
    return;
  }
  if (child.connected) child.disconnect();
  prepareSpare(unshare, helper, identity, spare);
}

/** Starts a helper for the next exec, if none is waiting and spares are wanted (LADING_SPARE_HELPER). */
export function prepareSpare(unshare: string, helper: string, identity: Identity, spare: boolean): void {
  const key = keyOf(unshare, helper, identity);
  if (idle.has(key) || !spare) return;
  const child = start(unshare, helper, identity);
  setRef(child, false);
  idle.set(key, child);
}
