import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import "./isolated-home.js";

export const execFileP = promisify(execFile);

/** Runs a command and returns stdout; throws with stderr in the message on failure. */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["pipe", "pipe", "pipe"], maxBuffer: 64 << 20, ...opts });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; status?: number };
    throw new Error(`${cmd} ${args.join(" ")} failed (${e.status}): ${e.stderr ?? ""}${e.stdout ?? ""}`);
  }
}

export function has(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** podman global flags for a private store; this VM's hybrid cgroups need cgroupfs and runc (crun refuses them). */
export function podmanArgs(root: string, runroot: string): string[] {
  return ["--root", root, "--runroot", runroot, "--cgroup-manager=cgroupfs", "--runtime", "runc", "--storage-driver", "vfs", "--events-backend", "none"];
}

/** Explicit ulimits within this process's hard limits (podman's defaults exceed them here). */
export function podmanUlimits(): string[] {
  const nofile = Number(run("bash", ["-c", "ulimit -Hn"]).trim()) || 1024;
  // dash has no `ulimit -u`; bash does.
  const nprocRaw = run("bash", ["-c", "ulimit -Hu"]).trim();
  const nproc = nprocRaw === "unlimited" ? 65536 : Number(nprocRaw) || 4096;
  return ["--ulimit", `nofile=${Math.min(nofile, 65536)}:${Math.min(nofile, 65536)}`, "--ulimit", `nproc=${nproc}:${nproc}`];
}
