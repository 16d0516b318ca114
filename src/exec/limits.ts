/**
 * rlimits for the container, never above this process's hard limits (a
 * runtime refuses to raise them; podman's defaults fail that way on hosts
 * with low hard limits). Read from /proc/self/limits since node has no
 * getrlimit.
 */
import { readFileSync } from "node:fs";

export interface Rlimit {
  type: string;
  hard: number;
  soft: number;
}

const WANTED: Array<[string, string, number]> = [
  // [name in /proc/self/limits, OCI type, value docker would use]
  ["Max open files", "RLIMIT_NOFILE", 1048576],
  ["Max processes", "RLIMIT_NPROC", 1048576],
];

function hardLimits(): Map<string, number> {
  const out = new Map<string, number>();
  let text = "";
  try {
    text = readFileSync("/proc/self/limits", "utf8");
  } catch {
    return out;
  }
  for (const line of text.split("\n").slice(1)) {
    const m = /^(.+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    if (m) out.set(m[1]!.trim(), m[3] === "unlimited" ? Infinity : Number(m[3]));
  }
  return out;
}

export function containerRlimits(): Rlimit[] {
  const hard = hardLimits();
  return WANTED.map(([name, type, want]) => {
    const v = Math.min(want, hard.get(name) ?? 1024);
    return { type, hard: v, soft: v };
  });
}
