/**
 * How often each store item was used, for the "then least used" part of
 * garbage collection. Uses are appended as one short line each to
 * `lading/uses.log` (O_APPEND: safe across processes without a lock) and
 * folded into one line per item by the collector, which holds the gc lock.
 */
import { appendFile, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

export function usesLogPath(root: string): string {
  return join(root, "lading", "uses.log");
}

/** Records one use of each id (a blob digest, an op-cache key's hex, a folder path). Best effort: a lost line only ages an item a little. */
export async function recordUses(root: string, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await appendFile(usesLogPath(root), ids.map((id) => `${id} 1\n`).join("")).catch(() => {});
}

/** id → number of uses. */
export async function readUseCounts(root: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let text = "";
  try {
    text = await readFile(usesLogPath(root), "utf8");
  } catch {
    return counts;
  }
  for (const line of text.split("\n")) {
    const sp = line.lastIndexOf(" ");
    if (sp <= 0) continue;
    const n = Number(line.slice(sp + 1));
    if (Number.isInteger(n) && n > 0) counts.set(line.slice(0, sp), (counts.get(line.slice(0, sp)) ?? 0) + n);
  }
  return counts;
}

/** Rewrites the log as one line per id still in `keep` (the caller holds the gc lock). */
export async function compactUseCounts(root: string, counts: Map<string, number>, keep: (id: string) => boolean): Promise<void> {
  const path = usesLogPath(root);
  const lines = [...counts].filter(([id]) => keep(id)).map(([id, n]) => `${id} ${n}\n`);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, lines.join(""));
    await rename(tmp, path);
  } catch {
    await rm(tmp, { force: true });
  }
}
