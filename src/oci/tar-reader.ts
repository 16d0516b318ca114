/**
 * Safe iteration over a tar stream: names normalised, names with ".."
 * refused, PAX owner and time records applied, unread entry bodies drained.
 */
import type { Readable } from "node:stream";
import tar, { type Header } from "tar-stream";
import { LadingError } from "../errors.js";

/** tar-stream's header, with PAX records as a plain string map. */
export type TarHeader = Omit<Header, "pax"> & { pax?: Record<string, string> | null };

export interface TarEntry {
  /** The header, with `name` (and a hardlink's `linkname`) normalised by normalizeTarName. */
  header: TarHeader;
  /**
   * The entry's bytes; read it before asking for the next entry, or it is
   * skipped. (tar-stream's streamx stream: async-iterable and pipeable like
   * a node Readable.)
   */
  stream: Readable;
}

/**
 * Entry names as lading reads them: leading "/" and "./" removed (as GNU tar
 * does without -P; an absolute member name is taken as relative to the
 * root it is read into), "." and empty components dropped, and no ".."
 * anywhere: a name with a ".." component is refused (UNSAFE_ARCHIVE), since
 * no honest layer needs one. Returns "" for the root itself ("./", "/").
 */
export function normalizeTarName(name: string, entry = name): string {
  const what = entry === name ? `tar entry ${JSON.stringify(name)}` : `tar entry ${JSON.stringify(entry)}: hardlink target ${JSON.stringify(name)}`;
  if (name.includes("\0")) throw new LadingError("UNSAFE_ARCHIVE", `${what}: the name contains a NUL byte`);
  const parts: string[] = [];
  for (const c of name.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") throw new LadingError("UNSAFE_ARCHIVE", `${what}: a ".." component would climb out of the extraction root; the archive is refused`);
    parts.push(c);
  }
  return parts.join("/");
}

/**
 * Iterates the entries of an uncompressed tar. Each yielded stream must be
 * consumed (or ignored: it is drained) before the next entry comes. Fails
 * with UNSAFE_ARCHIVE on a ".." name or hardlink target, and with
 * INVALID_IMAGE on a malformed tar. Stopping early (break) stops reading.
 */
export async function* readTarEntries(input: Readable): AsyncGenerator<TarEntry> {
  const ex = tar.extract();
  input.on("error", (err) => ex.destroy(err));
  input.pipe(ex);
  try {
    for await (const entry of ex) {
      const header = normalizeHeader(entry.header as TarHeader);
      yield { header, stream: entry as unknown as Readable };
      // Whatever the consumer left unread must be skipped to reach the next header.
      entry.resume();
    }
  } catch (err) {
    if (err instanceof LadingError) throw err;
    throw new LadingError("INVALID_IMAGE", `reading a layer tar: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  } finally {
    input.unpipe(ex);
    ex.destroy();
  }
}

function normalizeHeader(h: TarHeader): TarHeader {
  const out: TarHeader = { ...h, name: normalizeTarName(h.name) };
  if (h.type === "link" && h.linkname) out.linkname = normalizeTarName(h.linkname, h.name);
  // tar-stream applies PAX path, linkpath and size itself, but not these.
  const pax = h.pax;
  if (pax) {
    if (pax.uid !== undefined && /^\d+$/.test(pax.uid)) out.uid = Number(pax.uid);
    if (pax.gid !== undefined && /^\d+$/.test(pax.gid)) out.gid = Number(pax.gid);
    if (pax.mtime !== undefined && /^-?\d+(\.\d+)?$/.test(pax.mtime)) out.mtime = new Date(Number(pax.mtime) * 1000);
  }
  return out;
}
