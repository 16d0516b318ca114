/**
 * A commit's submodules, read from the mirror (no checkout, no network):
 * each gitlink of the tree with the URL `.gitmodules` gives for its path,
 * a relative URL resolved against the superproject's remote as git does.
 * Lading fetches each into its own mirror, so a commit whose submodules
 * were fetched once is checked out again without any request.
 */
import { posix } from "node:path";
import { LadingError } from "../errors.js";
import { runGit } from "./command.js";

export interface Submodule {
  path: string;
  commit: string;
  url: string;
}

export async function submodulesOf(mirror: string, commit: string, superUrl: string): Promise<Submodule[]> {
  const tree = await runGit(["--git-dir", mirror, "ls-tree", "-r", "-z", "--full-tree", commit]);
  if (tree.code !== 0) throw new LadingError("INTERNAL", `cannot list commit ${commit}: ${tree.stderr.trim()}`);
  const links = tree.stdout.split("\0").filter((l) => l.startsWith("160000 commit ")).map((l) => {
    const [meta, path] = l.split("\t") as [string, string];
    return { path, commit: meta.split(" ")[2]! };
  });
  if (links.length === 0) return [];
  const cfg = await runGit(["--git-dir", mirror, "config", "--null", "--blob", `${commit}:.gitmodules`, "--get-regexp", "^submodule\\..*\\.(path|url)$"]);
  const byName = new Map<string, { path?: string; url?: string }>();
  for (const rec of cfg.code === 0 ? cfg.stdout.split("\0") : []) {
    const nl = rec.indexOf("\n");
    const m = /^submodule\.(.+)\.(path|url)$/.exec(rec.slice(0, nl));
    if (nl < 0 || !m) continue;
    const e = byName.get(m[1]!) ?? {};
    e[m[2] as "path" | "url"] = rec.slice(nl + 1);
    byName.set(m[1]!, e);
  }
  const out: Submodule[] = [];
  for (const link of links) {
    const mod = [...byName.values()].find((e) => e.path === link.path);
    // A gitlink without a .gitmodules entry is not a submodule git would check out either.
    if (!mod?.url) continue;
    out.push({ ...link, url: resolveSubmoduleUrl(superUrl, mod.url) });
  }
  return out;
}

/** git's rule: `./x` and `../x` are relative to the superproject's URL taken as a directory. */
export function resolveSubmoduleUrl(base: string, url: string): string {
  if (!url.startsWith("./") && !url.startsWith("../")) return url;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(base);
  const scp = scheme ? null : /^[^/:]+:/.exec(base);
  const prefix = scheme?.[0] ?? scp?.[0] ?? "";
  const path = base.slice(prefix.length).replace(/\/+$/, "");
  const joined = posix.normalize(`${path || "."}/${url}`);
  if (joined.startsWith("..")) throw new LadingError("INVALID_ARGUMENT", `submodule URL ${url} climbs above ${base}`);
  return prefix + (scheme && !joined.startsWith("/") ? "/" : "") + joined;
}
