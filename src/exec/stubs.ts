/**
 * Mountpoint stubs: the empty directories and files a runtime needs to
 * mount /proc, /dev, /sys, /etc/hosts, caches, secrets … onto. lading makes
 * the missing ones itself before the run (root-owned, 0755 / 0644) and
 * removes them afterwards when they are still empty, so that, as with
 * docker and buildah, no trace of the runtime's mounts reaches the layer.
 */
import { lstat, mkdir, readdir, readlink, rmdir, symlink, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface StubTarget {
  /** Absolute path inside the container. */
  path: string;
  kind: "dir" | "file" | "symlink";
  /** symlink only: its target. */
  linkname?: string;
}

/**
 * Creates what is missing of each target and its parents under `rootfs`.
 * Stops at a symlink component (the runtime resolves those inside the
 * root itself). Returns the created paths, parents first.
 */
export async function createStubs(rootfs: string, targets: StubTarget[]): Promise<string[]> {
  const created: string[] = [];
  for (const t of targets) {
    const parts = t.path.split("/").filter((p) => p && p !== ".");
    if (parts.includes("..")) continue;
    let rel = "";
    for (let i = 0; i < parts.length; i++) {
      rel = rel ? `${rel}/${parts[i]}` : parts[i]!;
      const abs = join(rootfs, rel);
      const st = await lstat(abs).catch(() => undefined);
      if (st) {
        if (st.isSymbolicLink() || (!st.isDirectory() && i < parts.length - 1)) break;
        continue;
      }
      const last = i === parts.length - 1;
      if (last && t.kind === "file") await writeFile(abs, "", { mode: 0o644 });
      else if (last && t.kind === "symlink") await symlink(t.linkname ?? "", abs);
      else await mkdir(abs, { mode: 0o755 });
      created.push(rel);
    }
  }
  return created;
}

/** Removes the stubs that are still as made (empty, or the same link), deepest first. */
export async function removeStubs(rootfs: string, created: string[], targets: StubTarget[] = []): Promise<void> {
  for (const rel of [...created].reverse()) {
    const abs = join(rootfs, rel);
    const st = await lstat(abs).catch(() => undefined);
    if (!st) continue;
    if (st.isSymbolicLink()) {
      const t = targets.find((x) => x.kind === "symlink" && x.path.replace(/^\/+/, "") === rel);
      if (t && (await readlink(abs)) === t.linkname) await unlink(abs).catch(() => {});
      continue;
    }
    if (st.isDirectory() && (await readdir(abs)).length === 0) await rmdir(abs).catch(() => {});
    else if (st.isFile() && st.size === 0) await unlink(abs).catch(() => {});
  }
}
