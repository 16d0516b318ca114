/**
 * The exec's writable root filesystem over a snapshot: an overlay mount
 * (upper and work dirs in the store's temp area) when the kernel allows it
 * here — as real root, or inside lading's user namespace with `userxattr`
 * (Linux ≥ 5.11) — else a full copy of the snapshot. Detected by trying,
 * and the path taken is reported through `debug`.
 */
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { LadingError } from "../errors.js";
import { errnoName, nativeMount } from "./mount-native.js";
import { runTool } from "./proc.js";

export interface Rootfs {
  kind: "overlay" | "copy";
  /** What the container sees as "/". */
  merged: string;
  /** The snapshot underneath. */
  lower: string;
  /** overlay only: the layer laid over the snapshot, when one was given. */
  above?: string;
  /** overlay only: the dir holding the changes. */
  upper?: string;
  /** Unmounts (if mounted); the work dir itself is removed by the caller. */
  unmount(): Promise<void>;
}

/** `allowOverlay` false (LADING_OVERLAY=0) forces the copy path. */
/** `above`: a directory laid over the snapshot as one more (read-only) layer, overlay only; the copy path ignores it. */
export async function prepareRootfs(lower: string, work: string, inUserns: boolean, allowOverlay: boolean, debug: (m: string) => void, above?: string): Promise<Rootfs> {
  const merged = join(work, "rootfs");
  const upper = join(work, "upper");
  const ovlWork = join(work, "ovlwork");
  await mkdir(merged, { recursive: true, mode: 0o755 });
  // overlay's option parser splits on "," and ":"; such paths go the copy way.
  const safe = ![lower, upper, ovlWork, ...(above ? [above] : [])].some((p) => /[,:]/.test(p));
  const attempts = inUserns ? ["userxattr"] : ["index=off,redirect_dir=off,metacopy=off", ""];
  const why: string[] = [];
  if (safe && allowOverlay) {
    for (const extra of attempts) {
      await Promise.all([mkdir(upper, { mode: 0o755 }), mkdir(ovlWork, { mode: 0o700 })]);
      const opts = `lowerdir=${above ? above + ":" : ""}${lower},upperdir=${upper},workdir=${ovlWork}${extra ? "," + extra : ""}`;
      const failed = await mountOverlay(opts, merged);
      if (!failed) {
        debug(`rootfs: overlayfs ${inUserns ? "in a user namespace (userxattr)" : "as root"} over ${lower}`);
        return { kind: "overlay", above, merged, lower, upper, unmount: () => unmountDir(merged) };
      }
      why.push(failed);
      await rm(upper, { recursive: true, force: true });
      await rm(ovlWork, { recursive: true, force: true });
    }
  } else why.push(safe ? "disabled by LADING_OVERLAY=0" : "paths contain , or :");
  debug(`rootfs: copying the snapshot (overlayfs unavailable: ${why.join("; ") || "?"})`);
  const c = await runTool("cp", ["-a", "--reflink=auto", lower + "/.", merged]);
  if (c.code !== 0) throw new LadingError("RUNTIME_UNAVAILABLE", `no root filesystem: overlayfs failed (${why.join("; ")}) and copying ${lower} failed: ${c.stderr.trim()}`);
  return { kind: "copy", merged, lower, unmount: async () => {} };
}

/** Mounts an overlay with `opts` at `target`: undefined, or why it failed. By the system call when the addon is built. */
async function mountOverlay(opts: string, target: string): Promise<string | undefined> {
  const native = nativeMount();
  if (native) {
    const errno = native.mount("overlay", target, "overlay", opts);
    return errno ? `mount(2) of overlay with ${opts}: ${errnoName(errno)}` : undefined;
  }
  const r = await runTool("mount", ["-t", "overlay", "overlay", "-o", opts, target]);
  return r.code === 0 ? undefined : r.stderr.trim();
}

/** Unmounts `target`, lazily when it is busy. */
async function unmountDir(target: string): Promise<void> {
  const native = nativeMount();
  if (native) {
    if (native.umount(target, false)) native.umount(target, true);
    return;
  }
  const u = await runTool("umount", [target]);
  if (u.code !== 0) await runTool("umount", ["-l", target]);
}
