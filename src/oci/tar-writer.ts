/**
 * Deterministic tar writer: LayerEntry values in, POSIX (ustar + PAX) tar
 * bytes out. The same entries give the same bytes on any machine.
 *
 * The header encoding is written here rather than taken from tar-stream's
 * packer because determinism and correctness need control over every field:
 * tar-stream saturates uids above 0o777777 to 0o777777 instead of using PAX,
 * names its PAX headers "PaxHeader" with a linkname, and skips the
 * ustar prefix split rules Go's archive/tar uses. The format follows Go's
 * archive/tar in PAX mode (what buildkit and umoci produce): 7-digit octal
 * fields with NUL, prefix/name split at the last fitting "/", PAX records
 * only for what ustar cannot hold, PAX header named "PaxHeaders.0/<base>"
 * (a fixed name; GNU tar's default puts the pid there), two zero blocks at
 * the end and no padding to a 10 KiB record.
 */
import { createHash, type Hash } from "node:crypto";
import { Readable } from "node:stream";
import { LadingError } from "../errors.js";
import type { Digest } from "./digest.js";
import { xattrBytes, type EntryType, type LayerEntry } from "./layer-entry.js";
import { readAhead, type AheadEntry } from "./tar-read-ahead.js";
import { contentOf, readHostRange } from "./tar-content.js";
import { comparePaths, needsByteOrder } from "./path-order.js";

export interface TarOptions {
  /**
   * SOURCE_DATE_EPOCH in seconds: generated entries (no mtime) get it, and
   * given mtimes are clamped to it (unless clampMtime is false). Unset:
   * generated entries get 0 and given mtimes are kept.
   */
  sourceDateEpoch?: number;
  /** Clamp given mtimes to sourceDateEpoch (default true); false keeps them as given (the opt-out of issue 19). */
  clampMtime?: boolean;
  /**
   * Sort entries by path (bytewise UTF-8). Default true; false keeps the
   * given order. "presorted": they come sorted already, and are checked as
   * they pass (one out of order, or a path twice, fails) instead of being
   * held: memory then does not grow with the number of entries. The
   * caller puts a hard link after the file it names.
   */
  sort?: boolean | "presorted";
}

const BLOCK = 512;
const MAX_OCTAL_7 = 0o7777777; // 8-byte fields: mode, uid, gid, devmajor, devminor
const MAX_OCTAL_11 = 0o77777777777; // 12-byte fields: size, mtime
const TYPEFLAG: Record<EntryType | "pax", number> = {
  file: 0x30, // '0'
  hardlink: 0x31,
  symlink: 0x32,
  char: 0x33,
  block: 0x34,
  directory: 0x35,
  fifo: 0x36,
  pax: 0x78, // 'x'
};

/**
 * The uncompressed tar of `entries`. Entries are validated first (when
 * sorting, all of them before the first byte; otherwise each as it comes):
 * a path with "..", ".", empty components, a leading "/", or a duplicate
 * path fails with LadingError("INVALID_ARGUMENT"), as does a file whose
 * stream yields a byte count other than its `size`. File contents are
 * streamed one at a time, so memory does not grow with file sizes.
 */
export function tarStream(entries: Iterable<LayerEntry> | AsyncIterable<LayerEntry>, opts: TarOptions = {}, fileDigests?: (digest: Digest) => void): Readable {
  if (opts.sourceDateEpoch !== undefined && !(Number.isFinite(opts.sourceDateEpoch) && opts.sourceDateEpoch >= 0)) {
    throw new LadingError("INVALID_ARGUMENT", `sourceDateEpoch ${opts.sourceDateEpoch} is not a non-negative number of seconds`);
  }
  return Readable.from(generateTar(entries, opts, fileDigests), { objectMode: false, highWaterMark: 64 * 1024 });
}

/** Pieces smaller than this are copied into batches. */
const SMALL_PIECE = 64 * 1024;
/** A batch is passed on once it holds this much (or the next piece does not fit). */
const BATCH = 256 * 1024;
/** Host files up to this size are read straight into the batch. */
const DIRECT_READ = 128 * 1024;

/**
 * The output, gathered into BATCH-sized buffers: headers, padding and small
 * files are copied (small host files read) straight into the current
 * batch; larger pieces pass through on their own. Why: every piece costs a
 * trip through each stream stage behind the writer (hashing, compressing,
 * storing), and every buffer a collection later; a tree of 20,000 small
 * files is 60,000 pieces.
 */
class Batch {
  private buf = Buffer.allocUnsafe(BATCH);
  private used = 0;
  private static readonly NONE: readonly Buffer[] = [];

  /** Puts `piece` in; returns what must be passed on first (usually nothing). */
  place(piece: Buffer): readonly Buffer[] {
    if (piece.length >= SMALL_PIECE) return this.used > 0 ? [this.take(), piece] : [piece];
    const out = this.used + piece.length > BATCH ? [this.take()] : Batch.NONE;
    piece.copy(this.buf, this.used);
    this.used += piece.length;
    return out;
  }

  /** Reads a small host file in (it must be at most DIRECT_READ bytes); `hash` is given its bytes. */
  readHost(e: LayerEntry, size: number, hash?: Hash): readonly Buffer[] {
    const out = this.used + size > BATCH ? [this.take()] : Batch.NONE;
    readHostRange(e, size, 0, size, this.buf, this.used);
    hash?.update(this.buf.subarray(this.used, this.used + size));
    this.used += size;
    return out;
  }

  /** What is held, passed on now (nothing when empty). */
  flush(): readonly Buffer[] {
    return this.used > 0 ? [this.take()] : Batch.NONE;
  }

  private take(): Buffer {
    const full = this.buf.subarray(0, this.used);
    this.buf = Buffer.allocUnsafe(BATCH);
    this.used = 0;
    return full;
  }
}

async function* generateTar(entries: Iterable<LayerEntry> | AsyncIterable<LayerEntry>, opts: TarOptions, fileDigests: ((digest: Digest) => void) | undefined): AsyncGenerator<Buffer> {
  const batch = new Batch();
  for await (const pieces of tarPieces(entries, opts)) {
    for (const p of pieces) {
      if (Buffer.isBuffer(p)) {
        for (const b of batch.place(p)) yield b;
        continue;
      }
      const hash = fileDigests ? createHash("sha256") : undefined;
      if (p.size <= DIRECT_READ) for (const b of batch.readHost(p.entry, p.size, hash)) yield b;
      else {
        for await (const piece of contentOf(p.entry, p.size)) {
          hash?.update(piece);
          for (const b of batch.place(piece)) yield b;
        }
      }
      if (hash) fileDigests!(`sha256:${hash.digest("hex")}`);
    }
  }
  for (const b of batch.flush()) yield b;
}

/**
 * A piece of the tar: bytes as they go in (headers, padding, content
 * given as streams), or a host file whose `size` bytes its consumer reads
 * from `entry.hostPath` itself (checking the size: tar-content.ts), so that
 * a compressor can have its threads read files straight into their blocks.
 */
export type TarPiece = Buffer | HostFilePiece;

export interface HostFilePiece {
  entry: LayerEntry;
  size: number;
}

/** Shared zero bytes for padding and the end marker: consumers copy pieces, never change them. */
const ZEROS = Buffer.alloc(2 * BLOCK);
/** Pieces are handed on in arrays of about this many: one await per array, not per piece. */
const PIECES_PER_YIELD = 256;

/**
 * The tar of `entries` as pieces, in order; concatenated they are the bytes
 * tarStream gives. Entries are validated (and sorted) as for tarStream.
 */
export async function* tarPieces(entries: Iterable<LayerEntry> | AsyncIterable<LayerEntry>, opts: TarOptions = {}): AsyncGenerator<TarPiece[]> {
  const epoch: Epoch = { at: opts.sourceDateEpoch, clamp: opts.clampMtime !== false };
  if (opts.sort === "presorted" && Symbol.iterator in entries) {
    // Checked as they pass; host files are pieces the consumer reads, so nothing is read ahead.
    yield* entryPieces(notAhead(checkedSorted(entries)), epoch);
    return;
  }
  const ordered = opts.sort === false ? validateEach(entries) : opts.sort === "presorted" ? validateSorted(entries) : await sortedEntries(entries);
  if (Array.isArray(ordered) && !ordered.some(streamsContent)) {
    // Nothing to wait for: no await per entry.
    let out: TarPiece[] = [];
    for (const e of ordered) {
      pushEntry(out, e, epoch);
      if (out.length >= PIECES_PER_YIELD) {
        yield out;
        out = [];
      }
    }
    out.push(ZEROS);
    yield out;
    return;
  }
  yield* entryPieces(readAhead(ordered), epoch);
}

/**
 * The pieces of entries in order, then the end marker. Host files are
 * pieces the consumer reads; a file with open() comes with its content
 * when it was read ahead (tar-read-ahead.ts), else is streamed when its
 * turn comes. A plain iterable is taken without an await per entry (a
 * million entries' worth of them is seconds on a busy machine).
 */
async function* entryPieces(source: Iterable<AheadEntry> | AsyncIterable<AheadEntry>, epoch: Epoch): AsyncGenerator<TarPiece[]> {
  let out: TarPiece[] = [];
  const sync = Symbol.iterator in source ? source[Symbol.iterator]() : undefined;
  const async = sync ? undefined : (source as AsyncIterable<AheadEntry>)[Symbol.asyncIterator]();
  let ended = false;
  try {
    for (;;) {
      const r = sync ? sync.next() : await async!.next();
      if (r.done) {
        ended = true;
        break;
      }
      const { entry: e, content } = r.value;
      if (!streamsContent(e)) pushEntry(out, e, epoch);
      else if (content) pushEntry(out, e, epoch, await content);
      else {
        pushHeaders(out, e, epoch);
        for await (const b of contentOf(e, e.size!)) {
          out.push(b);
          if (out.length >= PIECES_PER_YIELD) {
            yield out;
            out = [];
          }
        }
        pushPadding(out, e.size!);
      }
      if (out.length >= PIECES_PER_YIELD) {
        yield out;
        out = [];
      }
    }
  } finally {
    // Stopped early (an error, or the reader went away): the source releases what it holds (files read ahead).
    if (!ended) sync ? sync.return?.() : await async!.return?.();
  }
  out.push(ZEROS);
  yield out;
}

/** Entries with nothing read ahead. */
function* notAhead(entries: Iterable<LayerEntry>): Generator<AheadEntry> {
  for (const entry of entries) yield { entry };
}

/** A plain iterable of entries said to be sorted, checked one at a time. */
function* checkedSorted(entries: Iterable<LayerEntry>): Generator<LayerEntry> {
  const inOrder = sortedCheck();
  for (const e of entries) {
    inOrder(e);
    yield e;
  }
}

/** Validates each entry and that it sorts after the one before. */
function sortedCheck(): (e: LayerEntry) => void {
  let prev: string | undefined;
  return (e) => {
    validateEntry(e);
    if (prev !== undefined) {
      const c = comparePaths(prev, e.path);
      if (c === 0) throw duplicate(e.path);
      if (c > 0) throw invalid(e, `comes after ${JSON.stringify(prev)} but sorts before it; the entries were said to be sorted`);
    }
    prev = e.path;
  };
}

async function* validateSorted(entries: Iterable<LayerEntry> | AsyncIterable<LayerEntry>): AsyncGenerator<LayerEntry> {
  const inOrder = sortedCheck();
  for await (const e of entries) {
    inOrder(e);
    yield e;
  }
}

/** A file whose bytes come from its open() stream (checked even when it should be empty). */
function streamsContent(e: LayerEntry): boolean {
  return e.type === "file" && e.hostPath === undefined && (e.size! > 0 || e.open !== undefined);
}

/** Appends the entry's headers, its content (a host file's as a HostFilePiece, else `content`) and padding. */
function pushEntry(out: TarPiece[], e: LayerEntry, epoch: Epoch, content?: Buffer[]): void {
  pushHeaders(out, e, epoch);
  if (e.type !== "file") return;
  if (e.hostPath !== undefined) out.push({ entry: e, size: e.size! });
  else if (content) for (const b of content) out.push(b);
  pushPadding(out, e.size!);
}

function pushHeaders(out: TarPiece[], e: LayerEntry, epoch: Epoch): void {
  for (const h of entryHeaders(e, entryMtime(e, epoch))) out.push(h);
}

function pushPadding(out: TarPiece[], size: number): void {
  const rest = size % BLOCK;
  if (rest) out.push(ZEROS.subarray(0, BLOCK - rest));
}

/** The time generated entries get (`at`, else 0) and whether given mtimes come down to it. */
interface Epoch {
  at: number | undefined;
  clamp: boolean;
}

function entryMtime(e: LayerEntry, epoch: Epoch): number {
  if (e.mtime === undefined) return Math.floor(epoch.at ?? 0);
  const t = Math.max(0, Math.floor(e.mtime));
  return epoch.at === undefined || !epoch.clamp ? t : Math.min(t, Math.floor(epoch.at));
}

async function* validateEach(entries: Iterable<LayerEntry> | AsyncIterable<LayerEntry>): AsyncGenerator<LayerEntry> {
  const seen = new Set<string>();
  for await (const e of entries) {
    validateEntry(e);
    if (seen.has(e.path)) throw duplicate(e.path);
    seen.add(e.path);
    yield e;
  }
}

async function sortedEntries(entries: Iterable<LayerEntry> | AsyncIterable<LayerEntry>): Promise<LayerEntry[]> {
  const list: LayerEntry[] = [];
  let astral = false;
  const take = (e: LayerEntry): void => {
    validateEntry(e);
    list.push(e);
    if (!astral && needsByteOrder(e.path)) astral = true;
  };
  // A plain iterable is read without an await per entry (20,000 of them cost ~20 ms).
  if (Symbol.iterator in entries) for (const e of entries) take(e);
  else for await (const e of entries) take(e);
  // Bytewise on UTF-8. JS string order (UTF-16 code units) is the same for
  // paths without characters above U+FFFF, and needs no key per entry (a
  // Buffer each was megabytes of garbage for a large tree); only a tree with
  // such characters is compared through UTF-8 bytes. A directory's path is a
  // prefix of its contents', so it sorts first.
  list.sort(astral ? (a, b) => Buffer.compare(Buffer.from(a.path, "utf8"), Buffer.from(b.path, "utf8")) : (a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (let i = 1; i < list.length; i++) if (list[i]!.path === list[i - 1]!.path) throw duplicate(list[i]!.path);
  return orderHardlinks(list);
}

/**
 * Sorting may put a hardlink before the file it names, which extractors
 * cannot follow. All names of one inode are equal, so within each group of
 * linked names the first in order carries the data and the others link to
 * it — deterministic whichever name the caller chose as the original.
 */
function orderHardlinks(sorted: LayerEntry[]): LayerEntry[] {
  const index = new Map<string, number>();
  sorted.forEach((e, i) => index.set(e.path, i));
  const rootOf = (i: number): number => {
    let j = i;
    for (let hops = 0; sorted[j].type === "hardlink"; hops++) {
      const next = index.get(sorted[j].linkname!);
      if (next === undefined) return j; // links to a lower layer: nothing to reorder
      if (hops > sorted.length) throw new LadingError("INVALID_ARGUMENT", `hardlink ${JSON.stringify(sorted[i].path)}: its links form a cycle`);
      j = next;
    }
    return j;
  };
  const groups = new Map<number, number[]>();
  sorted.forEach((e, i) => {
    if (e.type !== "hardlink") return;
    const root = rootOf(i);
    if (sorted[root].type === "hardlink") return;
    if (sorted[root].type === "directory") throw new LadingError("INVALID_ARGUMENT", `hardlink ${JSON.stringify(e.path)} names directory ${JSON.stringify(sorted[root].path)}`);
    const g = groups.get(root) ?? [root];
    g.push(i);
    groups.set(root, g);
  });
  const out = sorted.slice();
  for (const [root, members] of groups) {
    const first = Math.min(...members);
    const data = sorted[root];
    const firstPath = sorted[first].path;
    for (const m of members) {
      out[m] =
        m === first
          ? { ...data, path: firstPath }
          : { path: sorted[m].path, type: "hardlink", linkname: firstPath, mode: data.mode, uid: data.uid, gid: data.gid, mtime: data.mtime };
    }
  }
  return out;
}

function duplicate(path: string): LadingError {
  return new LadingError("INVALID_ARGUMENT", `layer entry ${JSON.stringify(path)} appears twice; each path may be written once per layer`);
}

function invalid(e: LayerEntry, what: string): LadingError {
  return new LadingError("INVALID_ARGUMENT", `layer entry ${JSON.stringify(e?.path)}: ${what}`);
}

/** Checks a layer-relative path: non-empty, no leading "/", no "", "." or ".." components, no NUL. */
export function checkLayerPath(path: string): string | undefined {
  if (typeof path !== "string" || path === "") return "the path is empty";
  if (path.includes("\0")) return "the path contains a NUL byte";
  if (path.startsWith("/")) return 'the path starts with "/"; layer paths are relative ("usr/bin/sh")';
  // Component by component without splitting: an array per entry was garbage for every file of a big tree.
  for (let start = 0; start <= path.length; ) {
    let end = path.indexOf("/", start);
    if (end < 0) end = path.length;
    const n = end - start;
    if (n === 0) return 'the path has an empty component (a trailing "/" or "//")';
    if (n <= 2 && path.charCodeAt(start) === 0x2e && (n === 1 || path.charCodeAt(start + 1) === 0x2e)) return `the path has a "${path.slice(start, end)}" component`;
    start = end + 1;
  }
  return undefined;
}

function validateEntry(e: LayerEntry): void {
  const bad = checkLayerPath(e?.path);
  if (bad) throw invalid(e, bad);
  if (!Object.hasOwn(TYPEFLAG, e.type) || e.type === ("pax" as EntryType)) throw invalid(e, `unknown type ${JSON.stringify(e.type)}`);
  if (!Number.isInteger(e.mode) || e.mode < 0 || e.mode > 0o7777) throw invalid(e, `mode ${e.mode} is not permission bits within 0o7777`);
  for (const [k, v] of [["uid", e.uid], ["gid", e.gid]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw invalid(e, `${k} ${v} is not a non-negative integer`);
  }
  if (e.mtime !== undefined && !Number.isFinite(e.mtime)) throw invalid(e, `mtime ${e.mtime} is not a number of seconds`);
  if (e.type === "file") {
    if (!Number.isSafeInteger(e.size) || e.size! < 0) throw invalid(e, `a file needs a non-negative integer size (got ${e.size})`);
    if (e.size! > 0 && typeof e.open !== "function" && typeof e.hostPath !== "string") throw invalid(e, "a file with content needs open() or hostPath");
  }
  if (e.type === "symlink" || e.type === "hardlink") {
    if (typeof e.linkname !== "string" || e.linkname === "" || e.linkname.includes("\0")) throw invalid(e, `a ${e.type} needs a linkname`);
  }
  if (e.type === "hardlink") {
    const badLink = checkLayerPath(e.linkname!);
    if (badLink) throw invalid(e, `hardlink target ${JSON.stringify(e.linkname)}: ${badLink}`);
  }
  if (e.type === "char" || e.type === "block") {
    for (const [k, v] of [["devmajor", e.devmajor ?? 0], ["devminor", e.devminor ?? 0]] as const) {
      if (!Number.isInteger(v) || v < 0 || v > MAX_OCTAL_7) throw invalid(e, `${k} ${v} is out of range`);
    }
  }
  if (e.xattrs) {
    for (const [k, v] of Object.entries(e.xattrs)) {
      if (k === "" || /[=\0]/.test(k) || (typeof v !== "string" && !(v instanceof Uint8Array))) throw invalid(e, `xattr ${JSON.stringify(k)} has an invalid name or value`);
    }
  }
}

/** The entry's header blocks: a PAX header and its records when ustar cannot hold everything, then the ustar header. */
/** The header blocks (a PAX header first when one is needed) of an entry with the given mtime. */
export function entryHeaders(e: LayerEntry, mtime: number): Buffer[] {
  const out: Buffer[] = [];
  const size = e.type === "file" ? e.size! : 0;
  const name = e.type === "directory" ? `${e.path}/` : e.path;
  const linkname = e.type === "symlink" || e.type === "hardlink" ? e.linkname! : "";
  // Values are bytes: PAX records are UTF-8 text except SCHILY.xattr values,
  // which are the attribute's raw bytes (as Go's archive/tar and GNU tar write them).
  const pax: Array<[string, string | Buffer]> = [];

  const split = splitUstarName(name);
  if (!split) pax.push(["path", name]);
  if (linkname && (!isAscii(linkname) || linkname.length > 100)) pax.push(["linkpath", linkname]);
  if (size > MAX_OCTAL_11) pax.push(["size", String(size)]);
  if (e.uid > MAX_OCTAL_7) pax.push(["uid", String(e.uid)]);
  if (e.gid > MAX_OCTAL_7) pax.push(["gid", String(e.gid)]);
  if (mtime > MAX_OCTAL_11) pax.push(["mtime", String(mtime)]);
  for (const k of Object.keys(e.xattrs ?? {}).sort()) pax.push([`SCHILY.xattr.${k}`, xattrBytes(e.xattrs![k])]);

  if (pax.length > 0) {
    pax.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const body = Buffer.concat(pax.map(([k, v]) => paxRecord(k, v)));
    out.push(header({
      name: paxHeaderName(e.path),
      prefix: "",
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: body.length,
      mtime: Math.min(mtime, MAX_OCTAL_11),
      typeflag: TYPEFLAG.pax,
      linkname: "",
      devmajor: 0,
      devminor: 0,
    }));
    out.push(padded(body));
  }

  out.push(header({
    name: split ? split.name : asciiTruncate(name, 100),
    prefix: split ? split.prefix : "",
    mode: e.mode,
    uid: e.uid > MAX_OCTAL_7 ? 0 : e.uid,
    gid: e.gid > MAX_OCTAL_7 ? 0 : e.gid,
    size: size > MAX_OCTAL_11 ? 0 : size,
    mtime: mtime > MAX_OCTAL_11 ? 0 : mtime,
    typeflag: TYPEFLAG[e.type],
    linkname: linkname && isAscii(linkname) && linkname.length <= 100 ? linkname : asciiTruncate(linkname, 100),
    devmajor: e.type === "char" || e.type === "block" ? e.devmajor ?? 0 : 0,
    devminor: e.type === "char" || e.type === "block" ? e.devminor ?? 0 : 0,
  }));
  return out;
}


interface RawHeader {
  name: string;
  prefix: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: number;
  linkname: string;
  devmajor: number;
  devminor: number;
}

/**
 * A header block's constant bytes: zeros, and the ustar magic and version.
 * Headers start as a copy of it, in a block from Buffer's shared pool: one
 * ArrayBuffer per 16 headers instead of one each, which a large tree paid
 * for in allocation and garbage collection.
 */
const HEADER_TEMPLATE = (() => {
  const t = Buffer.alloc(BLOCK);
  t.write("ustar\u000000", 257, 8, "latin1");
  return t;
})();

function header(h: RawHeader): Buffer {
  const b = Buffer.allocUnsafe(BLOCK);
  HEADER_TEMPLATE.copy(b, 0);
  if (h.name) b.write(h.name, 0, 100, "latin1");
  octal(b, 100, 8, h.mode);
  octal(b, 108, 8, h.uid);
  octal(b, 116, 8, h.gid);
  octal(b, 124, 12, h.size);
  octal(b, 136, 12, h.mtime);
  b[156] = h.typeflag;
  if (h.linkname) b.write(h.linkname, 157, 100, "latin1");
  // uname and gname stay empty: owners are numeric only.
  octal(b, 329, 8, h.devmajor);
  octal(b, 337, 8, h.devminor);
  if (h.prefix) b.write(h.prefix, 345, 155, "latin1");
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i];
  octal(b, 148, 7, sum);
  b[155] = 0x20;
  return b;
}

/**
 * Zero-padded octal digits filling `len - 1` bytes, then NUL (as Go's
 * archive/tar). Written digit by digit: a string per field was most of a
 * header's cost. Callers keep `v` within `len - 1` digits.
 */
function octal(b: Buffer, off: number, len: number, v: number): void {
  b[off + len - 1] = 0;
  for (let i = off + len - 2; i >= off; i--) {
    const q = Math.floor(v / 8);
    b[i] = 0x30 + (v - q * 8);
    v = q;
  }
}

/** Splits a name into ustar prefix and name (Go's splitUSTARPath), or undefined when PAX is needed. */
function splitUstarName(name: string): { prefix: string; name: string } | undefined {
  if (!isAscii(name)) return undefined;
  if (name.length <= 100) return { prefix: "", name };
  let length = name.length;
  if (length > 156) length = 156;
  else if (name[length - 1] === "/") length--;
  const i = name.lastIndexOf("/", length - 1);
  const nlen = name.length - i - 1;
  if (i <= 0 || nlen > 100 || nlen === 0 || i > 155) return undefined;
  return { prefix: name.slice(0, i), name: name.slice(i + 1) };
}

function isAscii(s: string): boolean {
  return /^[\x01-\x7f]*$/.test(s);
}

/** A best-effort ustar field for readers without PAX: non-ASCII bytes dropped, cut to `max`. */
function asciiTruncate(s: string, max: number): string {
  return s.replace(/[^\x01-\x7f]/g, "_").slice(0, max);
}

/** Go's archive/tar name for a PAX header block: fixed, so the bytes never vary. */
function paxHeaderName(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  return asciiTruncate(`PaxHeaders.0/${base}`, 100);
}

/** One PAX record, "<len> <key>=<value>\n", where len counts its own digits; a Buffer value goes in byte for byte. */
function paxRecord(key: string, value: string | Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, "utf8"), typeof value === "string" ? Buffer.from(value, "utf8") : value, Buffer.from("\n")]);
  let len = body.length + String(body.length).length;
  if (String(len).length + body.length !== len) len = body.length + String(len).length;
  return Buffer.concat([Buffer.from(String(len), "latin1"), body]);
}

function padded(buf: Buffer): Buffer {
  const rest = buf.length % BLOCK;
  return rest ? Buffer.concat([buf, Buffer.alloc(BLOCK - rest)]) : buf;
}
