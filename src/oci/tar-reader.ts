/**
 * Safe iteration over a tar stream: names normalised, names with ".."
 * refused, PAX owner and time records applied, extended attributes
 * (SCHILY.xattr.*) read byte for byte, unread entry bodies drained.
 */
import type { Readable } from "node:stream";
import tar, { type Header } from "tar-stream";
import { LadingError } from "../errors.js";

/**
 * tar-stream's header, with PAX records as a plain string map, and the
 * entry's extended attributes (SCHILY.xattr.<name> records) as exact bytes:
 * tar-stream decodes every PAX value as UTF-8, which mangles binary values
 * such as security.capability, so `pax` must not be used for those.
 */
export type TarHeader = Omit<Header, "pax"> & { pax?: Record<string, string> | null; xattrs?: Record<string, Buffer> };

const XATTR_PREFIX = "SCHILY.xattr.";
/** Carries the raw xattr values of a PAX header from tar-stream's decoder to normalizeHeader. */
const RAW_XATTRS = Symbol("lading.rawXattrs");

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
  const ex = tarExtract();
  keepRawXattrs(ex);
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

/** Headers that describe the next entry: input ending after one is cut short. */
const LONG_HEADERS = new Set(["pax-header", "pax-global-header", "gnu-long-path", "gnu-long-link-path"]);

/**
 * tar-stream's extractor, except that input ending in the padding after an
 * entry's data ends the archive, as it does for Go's archive/tar (so for
 * moby, containerd, podman and umoci): umoci 0.4's `insert` writes layers
 * that stop right after the last file's bytes, with neither padding nor
 * end-of-archive blocks (opencontainers/umoci#436), and every Go tool reads
 * them. Input ending inside a header or an entry's data is still an error.
 * Leans on tar-stream's fields (pinned at 3.2.2; test/oci/tar-reader.test.ts
 * fails should they change).
 */
export function tarExtract(): tar.Extract {
  const ex = tar.extract();
  const inner = ex as unknown as { _final?: (cb: (err: Error | null) => void) => void; _stream: unknown; _header?: { type?: string | null } | null; _longHeader: boolean; _missing: number; _buffer?: { buffered: number } };
  const final = inner._final;
  if (typeof final !== "function") return ex;
  inner._final = function (this: typeof inner, cb) {
    const afterData = this._stream === null && this._longHeader === false && !LONG_HEADERS.has(this._header?.type ?? "");
    if (afterData && this._missing > 0 && this._missing < 512 && this._buffer?.buffered === 0) this._missing = 0;
    final.call(this, cb);
  };
  return ex;
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
    const xattrs: Record<string, Buffer> = {};
    // Global (type g) records reach us only as tar-stream's UTF-8 strings; the entry's own records as bytes.
    for (const [k, v] of Object.entries(pax)) if (k.startsWith(XATTR_PREFIX)) xattrs[k.slice(XATTR_PREFIX.length)] = Buffer.from(v, "utf8");
    Object.assign(xattrs, (pax as { [RAW_XATTRS]?: Record<string, Buffer> })[RAW_XATTRS]);
    if (Object.keys(xattrs).length > 0) out.xattrs = xattrs;
  }
  return out;
}

/**
 * tar-stream (pinned at 3.2.2) turns PAX records into strings as UTF-8 in
 * Extract#_decodeLongHeader; wrapping that one method per instance lets us
 * read the same record bytes again for the xattr values. Should a later
 * tar-stream lose the method, values fall back to the strings (exact for
 * text, lossy for binary) and test/oci/xattr-bytes.test.ts says so.
 */
function keepRawXattrs(ex: tar.Extract): void {
  const inner = ex as unknown as { _decodeLongHeader?: (buf: Buffer) => void; _header?: { type?: string } | null; _pax?: Record<string | symbol, unknown> | null };
  const decode = inner._decodeLongHeader;
  if (typeof decode !== "function") return;
  inner._decodeLongHeader = function (this: typeof inner, buf: Buffer) {
    decode.call(this, buf);
    if (this._header?.type !== "pax-header" || !this._pax) return;
    const raw = paxXattrBytes(buf);
    if (raw) this._pax[RAW_XATTRS] = raw;
  };
}

/** The SCHILY.xattr.* records of a PAX header body, values as bytes ("<len> <key>=<value>\n" each). */
export function paxXattrBytes(buf: Buffer): Record<string, Buffer> | undefined {
  let out: Record<string, Buffer> | undefined;
  let at = 0;
  while (at < buf.length) {
    const space = buf.indexOf(0x20, at);
    if (space < 0) break;
    const len = Number(buf.toString("latin1", at, space));
    if (!Number.isSafeInteger(len) || len <= space - at + 1 || at + len > buf.length) break;
    const record = buf.subarray(space + 1, at + len - 1); // without the closing "\n"
    const eq = record.indexOf(0x3d);
    if (eq > 0) {
      const key = record.toString("utf8", 0, eq);
      if (key.startsWith(XATTR_PREFIX)) (out ??= {})[key.slice(XATTR_PREFIX.length)] = Buffer.from(record.subarray(eq + 1));
    }
    at += len;
  }
  return out;
}
