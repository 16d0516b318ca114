/**
 * One spare exec helper, started ahead of need. Most of an exec's fixed
 * cost is starting node in the helper's namespaces (~100 ms); with a spare
 * waiting, a build's next exec skips it. The spare is unreferenced, so it
 * never keeps lading alive, and it exits by itself when lading goes (its
 * IPC channel closes). LADING_SPARE_HELPER=0 turns it off.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Readable } from "node:stream";
import { unshareArgs, type Identity } from "./identity.js";

let spare: { key: string; child: ChildProcess } | undefined;

type Refable = { ref?: () => void; unref?: () => void };

function setRef(child: ChildProcess, on: boolean): void {
  const handles: Array<Refable | null | undefined> = [child, child.channel as Refable | undefined, child.stdout as Readable & Refable, child.stderr as Readable & Refable];
  for (const h of handles) (on ? h?.ref : h?.unref)?.call(h);
}

function start(unshare: string, helper: string, identity: Identity): ChildProcess {
  // --no-warnings: the helper shares stderr with the command, whose output it must not alter.
  return spawn(unshare, [...unshareArgs(identity), "--", process.execPath, "--no-warnings", helper], {
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    // Its own process group: a terminal's Ctrl-C reaches lading, which stops the helper in order.
    detached: true,
  });
}

/** A helper ready for one job: the spare when it fits and is alive, else a new one. */
export function takeHelper(unshare: string, helper: string, identity: Identity): ChildProcess {
  const key = JSON.stringify([unshare, helper, identity]);
  const s = spare;
  spare = undefined;
  if (s && s.key === key && s.child.exitCode === null && s.child.signalCode === null && s.child.connected) {
    setRef(s.child, true);
    return s.child;
  }
  if (s) s.child.kill("SIGTERM");
  return start(unshare, helper, identity);
}

/** Starts a spare helper for the next exec, if none is waiting. */
export function prepareSpare(unshare: string, helper: string, identity: Identity): void {
  if (spare || process.env.LADING_SPARE_HELPER === "0") return;
  const child = start(unshare, helper, identity);
  child.on("error", () => {});
  child.stdout!.resume();
  child.stderr!.resume();
  setRef(child, false);
  spare = { key: JSON.stringify([unshare, helper, identity]), child };
  child.on("exit", () => {
    if (spare?.child === child) spare = undefined;
  });
}
