/**
 * The podman backend: the same root filesystem (lading's overlay or copy)
 * run through `podman run --rootfs`, with the runtime spec's settings
 * translated to flags. podman's own defaults that differ from the spec are
 * overridden explicitly (capabilities, ulimits within the hard limits,
 * cgroupfs, runc), so both backends give the same result for the same step.
 * podman's state and config: podman-state.ts.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { writeFile } from "node:fs/promises";
import { LadingError } from "../errors.js";
import type { BackendRun } from "./backend-run.js";
import { findTool } from "./detect.js";
import { pipeOutput } from "./pipe-output.js";
import { hideMachineMountsConfs, podmanEnv } from "./podman-state.js";
import { isHybridCgroups } from "./metrics.js";
import { runTool } from "./proc.js";
import type { SpecMount } from "./spec.js";

/** podman takes the container as any backend does; it keeps no state root or cgroup of lading's. */
export type PodmanRun = Omit<BackendRun, "stateRoot" | "cgroupLeaf"> & { podmanPath: string };

interface SpecShape {
  process: { user: { uid: number; gid: number; additionalGids?: number[] }; args: string[]; env: string[]; cwd: string; capabilities: { bounding: string[] }; rlimits: Array<{ type: string; hard: number; soft: number }>; noNewPrivileges: boolean };
  root: { path: string };
  hostname: string;
  mounts: SpecMount[];
  linux: { namespaces: Array<{ type: string }> };
}

export async function podmanRun(r: PodmanRun): Promise<number> {
  const s = r.spec as unknown as SpecShape;
  const inUserns = r.tag !== "root";
  // Inside lading's user namespace podman believes it is root and hands runc a cgroup path it
  // cannot create; only crun can run with cgroups disabled. (podman's own rootless mode cannot
  // see the helper's private overlay mount.)
  const crun = inUserns ? findTool("crun") : undefined;
  if (inUserns && !crun) {
    throw new LadingError("UNSUPPORTED", "the podman backend as a non-root user needs crun (Debian package crun) to run without cgroups; use the runc backend (--runtime runc), or install crun");
  }
  const bundleEnv = join(r.bundle, "podman.env");
  // Values go through a file (mode 0600) rather than argv, which any local user can read in /proc.
  await writeFile(bundleEnv, s.process.env.map((e) => e.replace(/\n/g, " ")).join("\n") + "\n", { mode: 0o600 });
  // podman's conmon runs with at most 32768 processes here, so nproc is clamped to that.
  const clamp = (l: { type: string; soft: number; hard: number }) => (l.type === "RLIMIT_NPROC" ? { ...l, soft: Math.min(l.soft, 32768), hard: Math.min(l.hard, 32768) } : l);
  const ulimits = s.process.rlimits.map(clamp).map((l) => `${l.type.replace("RLIMIT_", "").toLowerCase()}=${l.soft}:${l.hard}`);
  const { globals, env } = await podmanEnv(r.store, r.tag, crun ? "crun" : "runc", r.bundle, ulimits);
  await hideMachineMountsConfs(r.store, r.tag);
  // crun refuses a hybrid cgroup hierarchy even with cgroups disabled; an empty tmpfs hides it
  // (the helper's mount namespace is private, nothing else sees it).
  if (inUserns && isHybridCgroups()) await runTool("mount", ["-t", "tmpfs", "-o", "mode=755", "lading-no-cgroups", "/sys/fs/cgroup"]);
  const args = [
    ...globals, "run", "--rm", "-i", "--name", r.id, "--rootfs",
    "--user", `${s.process.user.uid}:${s.process.user.gid}`, "--workdir", s.process.cwd,
    "--env-file", bundleEnv, "--hostname", s.hostname,
    // /etc/hosts and /etc/resolv.conf already in the root filesystem (lading's layer of them, etc-files.ts): podman binds none over them.
    ...(s.mounts.some((m) => m.destination === "/etc/hosts") ? [] : ["--no-hosts", "--dns", "none"]),
    "--network", s.linux.namespaces.some((n) => n.type === "network") ? "none" : "host",
    "--cap-drop", "all", ...s.process.capabilities.bounding.flatMap((c) => ["--cap-add", c]),
    ...(s.process.noNewPrivileges ? ["--security-opt", "no-new-privileges"] : []),
    "--security-opt", "label=disable", "--security-opt", "seccomp=unconfined",
    ...(inUserns ? ["--cgroups=disabled"] : []),
    ...ulimits.flatMap((u) => ["--ulimit", u]),
    ...(s.process.user.additionalGids ?? []).flatMap((g) => ["--group-add", String(g)]),
    ...s.mounts.filter(isUserMount).flatMap(mountFlag),
    // With --rootfs, the first operand is the root directory instead of an image.
    "--", s.root.path, ...s.process.args,
  ];
  const child = spawn(r.podmanPath, args, { stdio: ["pipe", "pipe", "pipe"], env });
  r.setRunning({ kill: async () => void (await runTool(r.podmanPath, [...globals, "rm", "-f", "-t", "0", r.id], { env })) });
  let podmanErr = "";
  pipeOutput(child, (stream, c) => {
    if (stream === "stderr") podmanErr = (podmanErr + c.toString()).slice(-4096);
    return r.output(stream, c);
  });
  child.stdin!.on("error", () => {});
  child.stdin!.end(r.stdin ?? "");
  try {
    const code = await new Promise<number>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (c, sig) => resolve(c ?? 128 + (sig === "SIGKILL" ? 9 : 15)));
    });
    if (code === 125 && /^Error: /m.test(podmanErr)) throw new LadingError("INTERNAL", `podman could not run the container: ${podmanErr.trim().split("\n").pop()}`);
    return code;
  } finally {
    r.setRunning(undefined);
  }
}

/** The spec's system mounts and /etc files are podman's own business; only the exec's mounts are passed. */
function isUserMount(m: SpecMount): boolean {
  if (["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"].includes(m.destination)) return false;
  return !["/etc/hosts", "/etc/resolv.conf", "/etc/hostname"].includes(m.destination);
}

function mountFlag(m: SpecMount): string[] {
  // podman copies the image's content up into a tmpfs unless told not to; lading (as BuildKit) only when asked.
  if (m.type === "tmpfs") return ["--mount", `type=tmpfs,destination=${m.destination},tmpfs-mode=1777,${m.options.includes("tmpcopyup") ? "tmpcopyup" : "notmpcopyup"}`];
  const ro = m.options.includes("ro") ? ",readonly=true" : "";
  return ["--mount", `type=bind,source=${m.source},destination=${m.destination}${ro}`];
}
