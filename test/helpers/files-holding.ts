import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The files under `dir` whose bytes hold any of `needles` (a secret that
 * must not be there). An exec helper removes an exec's work folder a moment
 * after it answered, and its kept /etc layers as it exits, so a path may
 * vanish while it is walked; and rootless, the kernel's overlay work dir in
 * such a folder (`ovlwork/work`, mode 000, owned in the helper's namespace)
 * cannot be listed: it holds nothing of the exec's own, only what overlayfs
 * moves through it while it is mounted.
 */
export function filesHolding(dir: string, needles: readonly string[]): string[] {
  const hits: string[] = [];
  const gone = (err: unknown, p: string) => {
    const code = (err as NodeJS.ErrnoException).code;
    return code === "ENOENT" || (code === "EACCES" && p.endsWith("/ovlwork/work"));
  };
  const walk = (p: string) => {
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (st?.isDirectory()) {
      let names: string[] = [];
      try {
        names = readdirSync(p);
      } catch (err) {
        if (!gone(err, p)) throw err;
      }
      for (const n of names) walk(join(p, n));
    } else if (st?.isFile()) {
      try {
        const bytes = readFileSync(p);
        if (needles.some((s) => bytes.includes(s))) hits.push(p);
      } catch (err) {
        if (!gone(err, p)) throw err;
      }
    }
  };
  walk(dir);
  return hits;
}
