/**
 * Mountpoint stubs: the empty directories and files a runtime needs to
 * mount /proc, /dev, /sys, /etc/hosts, caches, secrets … onto. lading makes
 * the missing ones itself before the run (root-owned, 0755 / 0644) and
 * removes them afterwards when they are still empty, so that, as with
 * docker and buildah, no trace of the runtime's mounts reaches the layer.
 *
 * Synchronous calls on purpose: a dozen lstats, each a thread-pool round
 * trip when async, were ~2 ms of every exec; the helper has nothing else
 * to do meanwhile.
 */
import { lstatSync, mkdirSync, readdirSync, readlinkSync, rmdirSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
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
      const st = lstatQuiet(abs);
      if (st) {
        if (st.isSymbolicLink() || (!st.isDirectory() && i < parts.length - 1)) break;
        continue;
      }
      const last = i === parts.length - 1;
      if (last && t.kind === "file") writeFileSync(abs, "", { mode: 0o644 });
      else if (last && t.kind === "symlink") symlinkSync(t.linkname ?? "", abs);
      else mkdirSync(abs, { mode: 0o755 });
      created.push(rel);
    }
  }
  return created;
}

/** Removes the stubs that are still as made (empty, or the same link), deepest first. */
export async function removeStubs(rootfs: string, created: string[], targets: StubTarget[] = []): Promise<void> {
  for (const rel of [...created].reverse()) {
    const abs = join(rootfs, rel);
    const st = lstatQuiet(abs);
    if (!st) continue;
    if (st.isSymbolicLink()) {
      const t = targets.find((x) => x.kind === "symlink" && x.path.replace(/^\/+/, "") === rel);
      if (t && readlinkSync(abs) === t.linkname) quietly(() => unlinkSync(abs));
      continue;
    }
    if (st.isDirectory() && readdirSync(abs).length === 0) quietly(() => rmdirSync(abs));
    else if (st.isFile() && st.size === 0) quietly(() => unlinkSync(abs));
  }
}

function lstatQuiet(p: string) {
  return lstatSync(p, { throwIfNoEntry: false });
}

function quietly(fn: () => void): void {
  try {
    fn();
  } catch {
    /* left as it is: the diff shows it */
  }
}
