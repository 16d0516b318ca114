/**
 * The order of entries in a layer: paths compared as UTF-8 bytes, as Go's
 * archive/tar users (buildkit, umoci) and `tar --sort=name` order them. A
 * directory's path is a prefix of its contents', so it sorts first.
 */

const SURROGATE = /[\uD800-\uDFFF]/;

/** Whether `path` needs the byte comparison (a character above U+FFFF); JS string order is UTF-8 order otherwise. */
export function needsByteOrder(path: string): boolean {
  return SURROGATE.test(path);
}

/**
 * Negative, zero or positive as `a` sorts before, with or after `b`.
 * Strings are compared as they are (UTF-16 code units: the same order as
 * UTF-8 bytes without characters above U+FFFF, and no Buffer per call);
 * only paths with such characters go through bytes.
 */
export function comparePaths(a: string, b: string): number {
  if (needsByteOrder(a) || needsByteOrder(b)) return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
  return a < b ? -1 : a > b ? 1 : 0;
}
