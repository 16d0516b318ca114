/**
 * CPU figures for one exec. Best source first:
 * - cgroup v2 (also the unified half of a hybrid host): the runtime runs in
 *   a fresh cgroup (`<own cgroup>/lading-<helper pid>-<id>/runtime`), so
 *   cpu.stat and cpu.pressure (PSI) of its parent cover the runtime and
 *   every container process, dead descendants included. Needs write access
 *   to the cgroup tree, which real root has; rootless users mostly do not.
 * - rusage: the CPU time of the helper's waited-for children (runtime,
 *   container init and what it waited for), from /proc/self/stat.
 * CPU pressure without a cgroup of the exec's own (rootless, cgroup v1):
 * the host's /proc/pressure/cpu totals before and after, labelled
 * host-wide — other work on the machine counts in it too, so it says how
 * contended the CPU was while the step ran, not what the step cost.
 */
import { mkdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { HelperMetrics } from "./job.js";

const TICKS_PER_SECOND = 100; // USER_HZ on every Linux ABI node runs on

export interface CgroupProbe {
  /** Where to put the runtime process (write its pid to `<leaf>/cgroup.procs`). */
  leaf: string;
  /**
   * The spec's cgroupsPath for the container: a sibling of `leaf`. Without
   * it runc moves the container to `/<id>` (in the unified hierarchy too, on
   * hybrid hosts) and its CPU time would be counted elsewhere.
   */
  containerPath: string;
  read(): Promise<HelperMetrics>;
  remove(): Promise<void>;
}

function cgroup2Mount(): string | undefined {
  let info = "";
  try {
    info = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return undefined;
  }
  for (const line of info.split("\n")) {
    const [pre, post] = line.split(" - ");
    if (post?.startsWith("cgroup2 ")) return pre!.split(" ")[4];
  }
  return undefined;
}

/**
 * Hybrid: cgroup v1 controllers plus a unified (v2) mount beside them, as on
 * this project's VMs. crun refuses to manage cgroups there.
 */
export function isHybridCgroups(): boolean {
  return cgroup2Mount() !== undefined && cgroup1Mounts().length > 0;
}

/** `allowed` false (LADING_CGROUP=0) skips cgroups and measures by rusage. */
function cgroup1Mounts(): string[] {
  let info = "";
  try {
    info = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return [];
  }
  return info
    .split("\n")
    .map((l) => l.split(" - "))
    .filter(([, post]) => post?.startsWith("cgroup "))
    .map(([pre]) => pre!.split(" ")[4]!);
}

export async function openCgroup(id: string, allowed: boolean): Promise<CgroupProbe | undefined> {
  if (process.getuid?.() !== 0 || !allowed) return undefined;
  const mnt = cgroup2Mount();
  if (!mnt) return undefined;
  let own = "/";
  try {
    own = /^0::(.*)$/m.exec(await readFile("/proc/self/cgroup", "utf8"))?.[1] ?? "/";
  } catch {
    return undefined;
  }
  const name = `lading-${process.pid}-${id}`;
  const dir = join(mnt, own, name);
  const leaf = join(dir, "runtime");
  try {
    await mkdir(leaf, { recursive: true });
    await writeFile(join(leaf, "cgroup.procs"), "", { flag: "r+" }).catch(() => {});
  } catch {
    return undefined;
  }
  return {
    leaf,
    containerPath: join(own, name, "ctr"),
    read: async () => readCgroup(dir),
    remove: async () => {
      // runc removes its leaf; on a hybrid host the parents it made in the v1 hierarchies stay.
      for (const v1 of cgroup1Mounts()) await rmdir(join(v1, own, name)).catch(() => {});
      for (let i = 0; i < 50; i++) {
        try {
          await rmdir(leaf).catch((e: NodeJS.ErrnoException) => {
            if (e.code !== "ENOENT") throw e;
          });
          await rmdir(dir);
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    },
  };
}

async function readCgroup(dir: string): Promise<HelperMetrics> {
  const stat = await readFile(join(dir, "cpu.stat"), "utf8").catch(() => "");
  const num = (text: string, re: RegExp) => {
    const m = re.exec(text);
    return m ? Number(m[1]) / 1e6 : undefined;
  };
  const out: HelperMetrics = { source: "cgroup2" };
  const user = num(stat, /^user_usec (\d+)$/m);
  const sys = num(stat, /^system_usec (\d+)$/m);
  if (user !== undefined) out.cpuUserSeconds = user;
  if (sys !== undefined) out.cpuSystemSeconds = sys;
  const psi = await readFile(join(dir, "cpu.pressure"), "utf8").catch(() => "");
  const some = num(psi, /^some .*total=(\d+)$/m);
  const full = num(psi, /^full .*total=(\d+)$/m);
  if (some !== undefined) {
    out.source = "cgroup2-psi";
    out.cpuPressureSomeSeconds = some;
    if (full !== undefined) out.cpuPressureFullSeconds = full;
  }
  return out;
}

/** CPU seconds of this process's waited-for children so far (user, system). */
export function childrenCpu(): { user: number; system: number } {
  try {
    const s = readFileSync("/proc/self/stat", "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return { user: Number(f[13]) / TICKS_PER_SECOND, system: Number(f[14]) / TICKS_PER_SECOND };
  } catch {
    return { user: 0, system: 0 };
  }
}

/** The host's CPU pressure totals so far (seconds), from /proc/pressure/cpu; undefined without PSI (kernel < 4.20 or psi=0). */
export function hostCpuPressure(): { some: number; full?: number } | undefined {
  let text: string;
  try {
    text = readFileSync("/proc/pressure/cpu", "utf8");
  } catch {
    return undefined;
  }
  const some = /^some .*total=(\d+)$/m.exec(text);
  if (!some) return undefined;
  const full = /^full .*total=(\d+)$/m.exec(text);
  return { some: Number(some[1]) / 1e6, ...(full ? { full: Number(full[1]) / 1e6 } : {}) };
}

/**
 * Adds the host-wide pressure over an exec to `m` when `m` has no pressure
 * of the exec's own; `pressureSource` says which one a reader has.
 */
export function withPressure(m: HelperMetrics, hostBefore: { some: number; full?: number } | undefined): HelperMetrics {
  if (m.cpuPressureSomeSeconds !== undefined) return { ...m, pressureSource: "cgroup" };
  const after = hostCpuPressure();
  if (!hostBefore || !after) return m;
  const round = (x: number) => Math.round(x * 1e6) / 1e6;
  return {
    ...m,
    pressureSource: "host",
    hostPressureSomeSeconds: round(after.some - hostBefore.some),
    ...(after.full !== undefined && hostBefore.full !== undefined ? { hostPressureFullSeconds: round(after.full - hostBefore.full) } : {}),
  };
}
