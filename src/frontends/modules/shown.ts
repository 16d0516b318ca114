import { relative } from "node:path";

/** A path as messages show it: relative to the current folder when inside it, else absolute. */
export function shown(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith("..") ? rel : file;
}
