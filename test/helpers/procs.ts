/** Looking at processes through /proc, for tests that check what is left running (by pid, never by killing names). */
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";

/** Process ids whose command line holds `marker`. */
export function pidsWith(marker: string): number[] {
  const out: number[] = [];
  for (const n of readdirSync("/proc")) {
    if (!/^\d+$/.test(n)) continue;
    try {
      if (readFileSync(`/proc/${n}/cmdline`, "utf8").includes(marker)) out.push(Number(n));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** Polls `fn` every 100 ms until it holds; fails naming `what` (and what `detail` says then) after `seconds`. */
export async function until(what: string, fn: () => boolean, seconds = 20, detail?: () => string): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!fn()) {
    if (Date.now() > end) assert.fail(`${what}: not within ${seconds} s${detail ? `: ${detail()}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** "pid (command line)" for each pid, for failure messages. */
export function describePids(pids: number[]): string {
  return pids
    .map((p) => {
      try {
        return `${p} (${readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").join(" ").trim()})`;
      } catch {
        return `${p} (gone)`;
      }
    })
    .join(", ");
}
