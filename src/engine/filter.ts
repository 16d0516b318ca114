import { createIncludeMatcher, createMatcher } from "../fsutil/patterns.js";
import type { TreeEntry } from "./tree.js";

/** Applies exclude/include patterns (docker semantics) to tree entries; directories left empty by include are dropped. */
export function filterTree(entries: readonly TreeEntry[], exclude: readonly string[], include: readonly string[]): TreeEntry[] {
  if (!exclude.length && !include.length) return [...entries];
  const ex = exclude.length ? createMatcher([...exclude]) : undefined;
  const inc = include.length ? createIncludeMatcher([...include]) : undefined;
  const kept = entries.filter((e) => {
    const isDir = e.type === "directory";
    if (ex?.(e.path, isDir)) return false;
    if (inc && !isDir && !inc(e.path, false) && !parentIncluded(inc, e.path)) return false;
    return true;
  });
  if (!inc) return kept;
  const needed = new Set<string>();
  for (const e of kept) {
    if (e.type === "directory" && !inc(e.path, true) && !parentIncluded(inc, e.path)) continue;
    const parts = e.path.split("/");
    for (let i = 1; i <= parts.length; i++) needed.add(parts.slice(0, i).join("/"));
  }
  return kept.filter((e) => needed.has(e.path));
}

function parentIncluded(inc: (p: string, d: boolean) => boolean, path: string): boolean {
  const parts = path.split("/");
  for (let i = 1; i < parts.length; i++) if (inc(parts.slice(0, i).join("/"), true)) return true;
  return false;
}
