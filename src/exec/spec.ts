/**
 * The OCI runtime spec (config.json) for one exec. Docker's defaults where
 * they matter for builds: its capability set, no_new_privileges, masked and
 * read-only /proc paths, /dev /dev/pts /dev/shm /dev/mqueue /proc /sys,
 * /etc/hosts, /etc/resolv.conf and /etc/hostname from the bundle, the host's
 * network unless `none` is asked for. Inside lading's user namespace (the
 * rootless case) the helper is already "root" over every mapped id, so the
 * spec adds no user namespace of its own; /sys is bind-mounted (mounting
 * sysfs needs a network namespace owned by the user namespace) and cgroups
 * are left to the runtime's rootless handling.
 */
import { readFileSync } from "node:fs";
import type { Rlimit } from "./limits.js";
import type { ResolvedUser } from "./user.js";

/** Docker's default capabilities (moby oci/caps/defaults.go). */
export const DOCKER_DEFAULT_CAPS = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
  "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
];

/** Every capability by bit number (linux/capability.h): what insecureRootCapabilities grants. */
const CAPS_BY_BIT = [
  "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE",
  "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT",
  "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE",
  "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
  "PERFMON", "BPF", "CHECKPOINT_RESTORE",
].map((c) => `CAP_${c}`);

/**
 * The capabilities this process may hand on (its bounding set): a runtime
 * fails outright when asked for one outside it, as in sandboxes that drop
 * some, so the spec asks only for those.
 */
export function boundingCaps(): Set<string> {
  try {
    const hex = /^CapBnd:\s+([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    if (hex) {
      const bits = BigInt("0x" + hex);
      return new Set(CAPS_BY_BIT.filter((_, i) => (bits >> BigInt(i)) & 1n));
    }
  } catch {
    /* not Linux procfs: ask for everything */
  }
  return new Set(CAPS_BY_BIT);
}

const MASKED = ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"];
const READONLY = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

export interface SpecMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

export interface SpecInput {
  rootfs: string;
  args: string[];
  env: string[];
  cwd: string;
  user: ResolvedUser;
  /** "host", a new empty one ("none"), or one lading made (its path). */
  network: "host" | "none" | { path: string };
  allCaps: boolean;
  /** Inside lading's user namespace (rootless) rather than real root. */
  inUserns: boolean;
  /** Only uid/gid 0 exist in the namespace (no subordinate ids). */
  singleId: boolean;
  hostname: string;
  /** Bundle files bound over /etc/hosts, /etc/resolv.conf, /etc/hostname. */
  etcFiles: Array<{ destination: string; source: string }>;
  /** The exec's own mounts (caches, binds, tmpfs, secrets), already resolved to host paths. */
  extraMounts: SpecMount[];
  rlimits: Rlimit[];
  /** cgroup path for the container (root only; undefined = the runtime's default handling). */
  cgroupsPath?: string;
}

export function systemMounts(inUserns: boolean, singleId: boolean, network: SpecInput["network"]): SpecMount[] {
  const ptsOpts = ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"];
  if (!singleId) ptsOpts.push("gid=5");
  const mounts: SpecMount[] = [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { destination: "/dev/pts", type: "devpts", source: "devpts", options: ptsOpts },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
  ];
  if (inUserns && network === "host") {
    mounts.push({ destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] });
  } else {
    mounts.push({ destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] });
    if (!inUserns) mounts.push({ destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] });
  }
  return mounts;
}

export function buildSpec(i: SpecInput): Record<string, unknown> {
  const bounding = boundingCaps();
  const caps = (i.allCaps ? CAPS_BY_BIT : DOCKER_DEFAULT_CAPS).filter((c) => bounding.has(c));
  const namespaces: Array<{ type: string; path?: string }> = [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }];
  if (i.network === "none") namespaces.push({ type: "network" });
  else if (i.network !== "host") namespaces.push({ type: "network", path: i.network.path });
  const mounts = [
    ...systemMounts(i.inUserns, i.singleId, i.network),
    ...i.etcFiles.map((f) => ({ destination: f.destination, type: "bind", source: f.source, options: ["rbind", "ro", "nosuid", "nodev", "noexec"] })),
    ...i.extraMounts,
  ];
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: i.user.uid, gid: i.user.gid, ...(i.user.additionalGids.length && !i.singleId ? { additionalGids: i.user.additionalGids } : {}) },
      args: i.args,
      env: i.env,
      cwd: i.cwd,
      capabilities: { bounding: caps, effective: caps, permitted: caps, ...(i.user.uid === 0 ? { inheritable: [] } : {}) },
      rlimits: i.rlimits,
      noNewPrivileges: !i.allCaps,
    },
    root: { path: i.rootfs, readonly: false },
    hostname: i.hostname,
    mounts,
    linux: {
      namespaces,
      ...(i.cgroupsPath ? { cgroupsPath: i.cgroupsPath } : {}),
      maskedPaths: i.allCaps ? [] : MASKED,
      readonlyPaths: i.allCaps ? [] : READONLY,
    },
  };
}
