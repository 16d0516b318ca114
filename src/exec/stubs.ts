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
import { followInScopeSync, type ScopedEntry, type ScopedStep } from "../fsutil/scoped-path.js";

export interface StubTarget {
  /** Absolute path inside the container. */
  path: string;
  kind: "dir" | "file" | "symlink";
  /** symlink only: its target. */
  linkname?: string;
}

/**
 * Creates what is missing of each target and its parents under `rootfs`.
 * Symbolic links on the way are followed inside the root, as the runtime
 * resolves a mount destination (a link to /real makes the stub /real/…),
 * so what the runtime would otherwise create itself, and leave in the
 * layer, is made and removed here. A symlink target's last component is
 * not followed. Returns the created paths (relative to `rootfs`), parents
 * first.
 */
export async function createStubs(rootfs: string, targets: StubTarget[]): Promise<string[]> {
  const created: string[] = [];
  for (const t of targets) {
    const make = (rel: string, { last }: ScopedStep): ScopedEntry => {
      const abs = join(rootfs, rel);
      const st = lstatSync(abs, { throwIfNoEntry: false });
      if (st?.isSymbolicLink()) return { link: readlinkSync(abs) };
      if (st) return st.isDirectory() || last ? "present" : "stop";
      if (last && t.kind === "file") writeFileSync(abs, "", { mode: 0o644 });
      else if (last && t.kind === "symlink") symlinkSync(t.linkname ?? "", abs);
      else mkdirSync(abs, { mode: 0o755 });
      created.push(rel);
      return "present";
    };
    // A loop is the runtime's to report; the stub stops there.
    followInScopeSync(t.path, make, { followLast: t.kind !== "symlink", loops: "stop" });
  }
  return created;
}

/** Removes the stubs that are still as made (empty, or the same link), deepest first. */
export async function removeStubs(rootfs: string, created: string[], targets: StubTarget[] = []): Promise<void> {
  for (const rel of [...created].reverse()) {
    // The command may have put a link where a parent was: never follow it out of the root.
    if (throughLink(rootfs, rel)) continue;
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

function throughLink(rootfs: string, rel: string): boolean {
  const parts = rel.split("/");
  for (let i = 1; i < parts.length; i++) {
    const st = lstatQuiet(join(rootfs, ...parts.slice(0, i)));
    if (!st?.isDirectory()) return true;
  }
  return false;
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
