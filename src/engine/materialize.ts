/** Writes a Tree out as real files (for mounts: directories and files bound into an exec). */
import { chmod, copyFile, lutimes, mkdir, readdir, symlink, writeFile, lchown } from "node:fs/promises";
import { join } from "node:path";
import { treeWalk, type Tree } from "./tree.js";

const isRoot = process.getuid?.() === 0;

export async function materializeTree(tree: Tree, dir: string, opts: { onlyIfEmpty?: boolean }): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (opts.onlyIfEmpty && (await readdir(dir)).length > 0) return;
  const dirs: Array<{ p: string; mode: number; mtime?: number }> = [];
  for (const e of treeWalk(tree)) {
    const p = join(dir, e.path);
    switch (e.type) {
      case "directory":
        await mkdir(p, { recursive: true });
        dirs.push({ p, mode: e.mode, mtime: e.mtime });
        break;
      case "file":
        if (e.content?.kind === "host") await copyFile(e.content.path, p);
        else await writeFile(p, e.content?.kind === "bytes" ? e.content.data : Buffer.alloc(0));
        await chmod(p, e.mode);
        break;
      case "symlink":
        await symlink(e.linkname ?? "", p);
        break;
      default:
        continue; // hardlinks and special files are not needed in mounts
    }
    if (isRoot) await lchown(p, e.uid, e.gid).catch(() => {});
    if (e.mtime !== undefined && e.type !== "directory") await lutimes(p, e.mtime, e.mtime).catch(() => {});
  }
  // Directory modes and times last, so writing their contents does not undo them.
  for (const d of dirs.reverse()) {
    await chmod(d.p, d.mode);
    if (d.mtime !== undefined) await lutimes(d.p, d.mtime, d.mtime).catch(() => {});
  }
}
