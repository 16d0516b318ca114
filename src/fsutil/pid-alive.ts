import { readFileSync } from "node:fs";

/**
 * Whether a process with this pid is alive (one of another user's counts:
 * EPERM means it is there). A zombie is not: a process SIGKILLed a moment
 * ago stays one until its parent (often a sandbox's slow init) reaps it,
 * and what it owned is as orphaned as if it were gone.
 */
export function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    // The state follows the command name, which is in parentheses and may hold spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    // Gone since kill(0) (procfs answers for ourselves), or no procfs to ask: then kill(0)'s word stands.
    try {
      readFileSync("/proc/self/stat");
      return false;
    } catch {
      return true;
    }
  }
}
