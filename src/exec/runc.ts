/**
 * The runc backend (crun takes the same command line). State lives per
 * store and id mapping in `<store>/lading/runc/<mapping>`, so reapLeftovers
 * finds what a crashed lading left there.
 */
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LadingError } from "../errors.js";
import type { OutputSink } from "./job.js";
import { pipeOutput } from "./pipe-output.js";
import { findTool } from "./detect.js";
import { runTool } from "./proc.js";

export interface RuncRun {
  runtimePath: string;
  stateRoot: string;
  bundle: string;
  id: string;
  spec: Record<string, unknown>;
  stdin?: string;
  /** A cgroup leaf to start the runtime in (its cgroup.procs path's dir). */
  cgroupLeaf?: string;
  /**
   * crun on a hybrid cgroup host, which it refuses outright: run it with
   * `--cgroup-manager=disabled` in a mount namespace of its own where an
   * empty tmpfs hides /sys/fs/cgroup. The container stays in the runtime's
   * cgroup, where the CPU figures are read anyway.
   */
  hideCgroups?: boolean;
  output: OutputSink;
  onSpawn?: (pid: number) => void;
}

/** Runs the container to completion; resolves with its exit code (128+N when killed by signal N). */
export async function runcRun(r: RuncRun): Promise<number> {
  await writeFile(join(r.bundle, "config.json"), JSON.stringify(r.spec), { mode: 0o600 });
  const log = join(r.bundle, "runtime.log");
  // The bundle outlives one run (exec-job.ts): the runtime appends to its log, which must hold this run's lines only.
  await writeFile(log, "", { mode: 0o600 });
  let argv = [r.runtimePath, "--root", r.stateRoot, ...(r.hideCgroups ? ["--cgroup-manager=disabled"] : []), "--log", log, "--log-format", "json", "run", "--bundle", r.bundle, "--no-new-keyring", r.id];
  if (r.hideCgroups) {
    const unshare = findTool("unshare") ?? "unshare";
    argv = [unshare, "--mount", "--propagation", "private", "/bin/sh", "-c", 'mount -t tmpfs -o mode=755 lading-no-cgroups /sys/fs/cgroup && exec "$@"', "sh", ...argv];
  }
  // A cgroup is joined by writing one's own pid; a shell does it, then becomes the runtime.
  if (r.cgroupLeaf) argv = ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', r.cgroupLeaf, ...argv];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
  if (child.pid) r.onSpawn?.(child.pid);
  pipeOutput(child, r.output);
  child.stdin!.on("error", () => {}); // the command may exit without reading its input
  child.stdin!.end(r.stdin ?? "");
  const code = await new Promise<number>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (c, sig) => resolve(c ?? 128 + (sig === "SIGKILL" ? 9 : 15)));
  });
  const errors = await runtimeErrors(log);
  if (errors) throw new LadingError("INTERNAL", `${r.runtimePath} could not run the container: ${errors}`);
  return code;
}

/** The runtime's own error messages from its JSON log (not the command's output). */
async function runtimeErrors(log: string): Promise<string | undefined> {
  const text = await readFile(log, "utf8").catch(() => "");
  const msgs = text
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      try {
        return JSON.parse(l) as { level?: string; msg?: string };
      } catch {
        return {};
      }
    })
    .filter((e) => e.level === "error" || e.level === "fatal")
    .map((e) => e.msg ?? "");
  return msgs.length ? msgs.join("; ") : undefined;
}

export async function runcKill(runtimePath: string, stateRoot: string, id: string): Promise<void> {
  await runTool(runtimePath, ["--root", stateRoot, "kill", id, "KILL"]);
  await runTool(runtimePath, ["--root", stateRoot, "delete", "--force", id]);
}

export async function runcList(runtimePath: string, stateRoot: string): Promise<Array<{ id: string; pid: number; status: string }>> {
  const r = await runTool(runtimePath, ["--root", stateRoot, "list", "--format", "json"]);
  if (r.code !== 0) return [];
  try {
    return (JSON.parse(r.stdout || "[]") ?? []) as Array<{ id: string; pid: number; status: string }>;
  } catch {
    return [];
  }
}
