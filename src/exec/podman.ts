/**
 * The podman backend: the same root filesystem (lading's overlay or copy)
 * run through `podman run --rootfs`, with the runtime spec's settings
 * translated to flags. podman's own defaults that differ from the spec are
 * overridden explicitly (capabilities, ulimits within the hard limits,
 * cgroupfs, runc), so both backends give the same result for the same step.
 * podman's storage lives in the store (`lading/podman/<mapping>`).
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { stat, writeFile } from "node:fs/promises";
import { LadingError } from "../errors.js";
import { hexOf, sha256 } from "../oci/digest.js";
import type { Store } from "../store/store.js";
import { findTool } from "./detect.js";
import type { OutputSink } from "./job.js";
import { pipeOutput } from "./pipe-output.js";
import { isHybridCgroups } from "./metrics.js";
import { runTool } from "./proc.js";
import type { SpecMount } from "./spec.js";

export interface PodmanRun {
  podmanPath: string;
  store: Store;
  tag: string;
  id: string;
  bundle: string;
  spec: Record<string, unknown>;
  stdin?: string;
  output: OutputSink;
  setRunning: (r: { kill(): Promise<void> } | undefined) => void;
}

interface SpecShape {
  process: { user: { uid: number; gid: number; additionalGids?: number[] }; args: string[]; env: string[]; cwd: string; capabilities: { bounding: string[] }; rlimits: Array<{ type: string; hard: number; soft: number }>; noNewPrivileges: boolean };
  root: { path: string };
  hostname: string;
  mounts: SpecMount[];
  linux: { namespaces: Array<{ type: string }> };
}

/**
 * podman's transient state for a store and id mapping. podman refuses a
 * runroot longer than 50 characters, so it goes to a short per-store path
 * in the temp dir, named after the store's podman folder for that mapping
 * (the mapping names the user: inside lading's namespace every uid is 0).
 */
export function podmanRunroot(storeRoot: string, tag: string): string {
  return join("/tmp", `lading-pm-${hexOf(sha256(join(storeRoot, "lading", "podman", tag))).slice(0, 16)}`);
}

/** podman's global flags for lading's private podman storage in `store`. */
export async function podmanGlobals(store: Store, tag: string): Promise<string[]> {
  const base = join(await store.stateDir("podman"), tag);
  return [
    "--root", join(base, "root"), "--runroot", podmanRunroot(store.root, tag), "--tmpdir", join(base, "tmp"),
    "--cgroup-manager=cgroupfs", "--runtime", "runc", "--storage-driver", "vfs", "--events-backend", "none",
  ];
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
  const globals = (await podmanGlobals(r.store, r.tag)).map((a) => (a === "runc" && crun ? "crun" : a));
  const bundleEnv = join(r.bundle, "podman.env");
  // Values go through a file (mode 0600) rather than argv, which any local user can read in /proc.
  await writeFile(bundleEnv, s.process.env.map((e) => e.replace(/\n/g, " ")).join("\n") + "\n", { mode: 0o600 });
  // podman's conmon runs with at most 32768 processes here, so nproc is clamped to that.
  const clamp = (l: { type: string; soft: number; hard: number }) => (l.type === "RLIMIT_NPROC" ? { ...l, soft: Math.min(l.soft, 32768), hard: Math.min(l.hard, 32768) } : l);
  const args = [
    ...globals, "run", "--rm", "-i", "--name", r.id, "--rootfs",
    "--user", `${s.process.user.uid}:${s.process.user.gid}`, "--workdir", s.process.cwd,
    "--env-file", bundleEnv, "--hostname", s.hostname,
    "--network", s.linux.namespaces.some((n) => n.type === "network") ? "none" : "host",
    "--cap-drop", "all", ...s.process.capabilities.bounding.flatMap((c) => ["--cap-add", c]),
    ...(s.process.noNewPrivileges ? ["--security-opt", "no-new-privileges"] : []),
    "--security-opt", "label=disable", "--security-opt", "seccomp=unconfined",
    ...(inUserns ? ["--cgroups=disabled"] : []),
    ...s.process.rlimits.map(clamp).flatMap((l) => ["--ulimit", `${l.type.replace("RLIMIT_", "").toLowerCase()}=${l.soft}:${l.hard}`]),
    ...(s.process.user.additionalGids ?? []).flatMap((g) => ["--group-add", String(g)]),
    ...s.mounts.filter(isUserMount).flatMap(mountFlag),
    // With --rootfs, the first operand is the root directory instead of an image.
    "--", s.root.path, ...s.process.args,
  ];
  // podman 4.3 ignores --ulimit with --rootfs and applies its defaults (above this host's hard
  // limits); default_ulimits in a containers.conf of our own is honoured.
  const conf = join(r.bundle, "containers.conf");
  const ulimits = s.process.rlimits.map(clamp).map((l) => `"${l.type.replace("RLIMIT_", "").toLowerCase()}=${l.soft}:${l.hard}"`);
  await writeFile(conf, `[containers]\ndefault_ulimits = [${ulimits.join(", ")}]\n`);
  // podman's locks live in /dev/shm/libpod_lock, shared machine-wide; inside lading's user
  // namespace one made by real root is not ours to open, so the helper gets its own /dev/shm
  // (its mount namespace is private, nothing else sees it).
  // The same holds for runc's state under /run/runc (podman passes no --root to runc).
  if (inUserns) {
    for (const dir of ["/dev/shm", "/run/runc", "/run/crun"]) {
      if (await stat(dir).then(() => true, () => false)) await runTool("mount", ["-t", "tmpfs", "-o", "mode=1777", "tmpfs", dir]);
    }
    // crun refuses a hybrid cgroup hierarchy even with cgroups disabled; an empty tmpfs hides it.
    if (isHybridCgroups()) await runTool("mount", ["-t", "tmpfs", "-o", "mode=755", "lading-no-cgroups", "/sys/fs/cgroup"]);
  }
  const child = spawn(r.podmanPath, args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, CONTAINERS_CONF: conf } });
  r.setRunning({ kill: async () => void (await runTool(r.podmanPath, [...globals, "rm", "-f", "-t", "0", r.id])) });
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
  if (m.type === "tmpfs") return ["--mount", `type=tmpfs,destination=${m.destination},tmpfs-mode=1777`];
  const ro = m.options.includes("ro") ? ",readonly=true" : "";
  return ["--mount", `type=bind,source=${m.source},destination=${m.destination}${ro}`];
}
