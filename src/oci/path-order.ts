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
 * UTF-16 code units sort as UTF-8 bytes do, except that a surrogate (half
 * of a character above U+FFFF, 4 bytes in UTF-8) sorts below U+E000–U+FFFF
 * (3 bytes from 0xEE): only the first unit that differs decides, so only
 * that pair is looked at (no Buffer, no scan of either whole string).
 */
export function comparePaths(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === n) return a.length < b.length ? -1 : 1;
  const x = a.charCodeAt(i);
  const y = b.charCodeAt(i);
  const sx = x >= 0xd800 && x <= 0xdfff;
  const sy = y >= 0xd800 && y <= 0xdfff;
  if (sx !== sy && (sx ? y : x) >= 0xe000) return sx ? 1 : -1;
  return x < y ? -1 : 1;
}
