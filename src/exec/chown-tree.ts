/**
 * podman's `U` mount option: a mount's whole tree handed to the user the
 * command runs as. Done inside the helper, where the user's ids exist
 * (rootless, the namespace maps them). Links are chowned, never followed.
 */
import { lchown, lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

export async function chownTree(path: string, uid: number, gid: number): Promise<void> {
  await lchown(path, uid, gid);
  if (!(await lstat(path)).isDirectory()) return;
  for (const name of await readdir(path)) await chownTree(join(path, name), uid, gid);
}
