import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";

/**
 * Small tmpfs filesystems for tests of full and nearly full disks (root
 * only). `unmountAll` goes in `after()`, before the temp dir is removed.
 */
export function tmpfsMounts(): { mount(dir: string, size: string): string; unmountAll(): void } {
  const mounts: string[] = [];
  return {
    mount(dir, size) {
      mkdirSync(dir, { recursive: true });
      execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
      mounts.push(dir);
      return dir;
    },
    unmountAll() {
      for (const m of mounts.splice(0)) {
        try {
          execFileSync("umount", [m]);
        } catch (err) {
          console.error(`could not unmount ${m}: ${(err as Error).message}`);
        }
      }
    },
  };
}
