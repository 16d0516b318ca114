/**
 * LayerEntry: one member of a layer tar, described independently of where
 * its bytes come from. The tar writer (tar-writer.ts) turns a set of these
 * into deterministic tar bytes; the engine builds them from trees, host
 * directories and root filesystem diffs.
 */
import { Readable } from "node:stream";
import { LadingError } from "../errors.js";

export type EntryType = "file" | "directory" | "symlink" | "hardlink" | "char" | "block" | "fifo";

/** An extended attribute's value: text (written as UTF-8) or exact bytes. */
export type XattrValue = string | Uint8Array;

/** The bytes an xattr value stands for. */
export function xattrBytes(v: XattrValue): Buffer {
  return typeof v === "string" ? Buffer.from(v, "utf8") : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export interface LayerEntry {
  /** Relative POSIX path inside the layer: no leading "/" or "./", no trailing "/" ("usr/bin/sh"). */
  path: string;
  type: EntryType;
  /** Permission bits including setuid/setgid/sticky (0o7777); no file-type bits. */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch; undefined = generated content, which gets the fixed epoch. */
  mtime?: number;
  /** Files: byte length (required for files). */
  size?: number;
  /** Symlink target (any string), or hardlink target (a layer path, relative like `path`). */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /**
   * Extended attributes, written as `SCHILY.xattr.<name>` PAX records. A
   * string value is written as its UTF-8 bytes; a byte value (Buffer,
   * Uint8Array) exactly as given, since attribute values are byte strings
   * and some are binary (security.capability): GNU tar, Go's archive/tar
   * and so buildkit, containerd and umoci write them raw the same way.
   */
  xattrs?: Record<string, XattrValue>;
  /**
   * Files: a fresh stream of exactly `size` bytes per call. Any Readable, or
   * any (async) iterable of Buffers/Uint8Arrays, is accepted.
   */
  open?: () => Readable | Promise<Readable>;
  /**
   * Files: the host file that holds the bytes, when there is one. The tar
   * writer then reads it itself (small files with plain blocking reads,
   * which cost ~1/20 of a stream's CPU) instead of calling open().
   */
  hostPath?: string;
}

/** Prefix that marks a whiteout entry in the OCI layer format. */
export const WHITEOUT_PREFIX = ".wh.";
/** Name of the entry that marks its directory opaque. */
export const OPAQUE_WHITEOUT = ".wh..wh..opq";

/**
 * The whiteout entry that deletes `path` from the layers below:
 * "a/b" → "a/.wh.b". An empty regular file with mode 0, owner 0:0 and the
 * fixed epoch as mtime — what umoci and containerd write (their whiteout
 * headers leave mode and owners zero).
 */
export function whiteoutEntry(path: string): LayerEntry {
  const { dir, base } = splitPath(path, "whiteoutEntry");
  return emptyMarker(dir ? `${dir}/${WHITEOUT_PREFIX}${base}` : `${WHITEOUT_PREFIX}${base}`);
}

/**
 * The opaque-directory marker for `dir`: "a" → "a/.wh..wh..opq". Lower
 * layers' contents of `dir` are hidden; this layer's own entries under it stay.
 */
export function opaqueEntry(dir: string): LayerEntry {
  const clean = dir.replace(/\/+$/, "");
  if (clean === "" || clean === ".") return emptyMarker(OPAQUE_WHITEOUT);
  splitPath(clean, "opaqueEntry");
  return emptyMarker(`${clean}/${OPAQUE_WHITEOUT}`);
}

function emptyMarker(path: string): LayerEntry {
  return { path, type: "file", mode: 0, uid: 0, gid: 0, size: 0, open: emptyOpen };
}

function emptyOpen(): Readable {
  return Readable.from([]);
}

function splitPath(path: string, fn: string): { dir: string; base: string } {
  const clean = path.replace(/\/+$/, "");
  const i = clean.lastIndexOf("/");
  const base = clean.slice(i + 1);
  if (base === "" || base === "." || base === "..") {
    throw new LadingError("INVALID_ARGUMENT", `${fn}(${JSON.stringify(path)}): needs a path naming an entry, like "etc/motd"`);
  }
  return { dir: i < 0 ? "" : clean.slice(0, i), base };
}
