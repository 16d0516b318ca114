/**
 * A file entry's bytes for the tar writer, checked against its size: from
 * its host file (hostPath) with blocking reads, or from its open() stream.
 *
 * Why blocking reads: a stream costs three round trips through libuv's
 * thread pool per file (open, read, close); for 20,000 small files that
 * was ~1.5 s of CPU where openSync/readSync/closeSync took ~0.1 s. A read
 * blocks the event loop for at most one CHUNK from the page cache.
 */
import { closeSync, readSync } from "node:fs";
import { openListedFile } from "../fsutil/listed-file.js";
import type { Readable } from "node:stream";
import { LadingError } from "../errors.js";
import type { LayerEntry } from "./layer-entry.js";

const CHUNK = 256 * 1024;

/** The entry's bytes: exactly `size` of them, or a LadingError. */
export function contentOf(e: LayerEntry, size: number): AsyncIterable<Buffer> {
  if (e.hostPath !== undefined) return hostContent(e, size);
  return openedContent(e, size);
}

async function* openedContent(e: LayerEntry, size: number): AsyncGenerator<Buffer> {
  yield* checkedContent(e, size, await e.open!());
}

/** What reading a piece of a host file needs to know of its entry (it travels to worker threads). */
export type HostFileRef = Pick<LayerEntry, "path" | "hostPath">;

/** A one-byte buffer for reads that must find a file's end. */
const probe = Buffer.alloc(1);

/**
 * Reads bytes [pos, pos + length) of a host file of `size` bytes into `buf`
 * at `at`; when they end the file, also checks that nothing follows (a
 * file that grew). The bytes after `at + length` are left as they were:
 * they may belong to the next piece already (a compressing thread reads
 * its block's pieces of files into the block itself). The check reads one
 * byte past into `buf` and puts it back, or, with no room there, reads it
 * on its own.
 */
export function readHostRange(e: HostFileRef, size: number, pos: number, length: number, buf: Uint8Array, at: number): void {
  const fd = openHost(e);
  try {
    readRange(e, fd, size, pos, length, buf, at);
  } finally {
    closeSync(fd);
  }
}

/** readHostRange on a file already open (see there). */
function readRange(e: HostFileRef, fd: number, size: number, pos: number, length: number, buf: Uint8Array, at: number): void {
  if (pos + length === size && at + length < buf.length) {
    // The file's last piece, with room after it: one byte more is asked for in the same read, which a file
    // that grew fills (a separate one-byte read per file was a quarter of the system calls of a tree of small
    // files). That byte belongs to what follows, and is put back.
    const keep = buf[at + length]!;
    const got = fill(e, fd, buf, at, pos, length + 1, length);
    buf[at + length] = keep;
    if (got > length) throw sizeMismatch(e, size, `more than ${size}`);
    if (got < length) throw sizeMismatch(e, size, String(pos + got));
    return;
  }
  const got = length > 0 ? fill(e, fd, buf, at, pos, length) : 0;
  if (got < length) throw sizeMismatch(e, size, String(pos + got));
  if (pos + length === size && readAt(e, fd, probe, 0, 1, size) > 0) throw sizeMismatch(e, size, `more than ${size}`);
}

/** A large host file in CHUNK-sized buffers, from one open. */
async function* hostContent(e: LayerEntry, size: number): AsyncGenerator<Buffer> {
  const fd = openHost(e);
  try {
    let pos = 0;
    do {
      const n = Math.min(CHUNK, size - pos);
      const buf = Buffer.allocUnsafe(n);
      readRange(e, fd, size, pos, n, buf, 0);
      pos += n;
      if (n > 0) yield buf;
    } while (pos < size);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads `want` bytes at file position `pos` into `buf` at `at`, stopping
 * early only at the file's end, or once `enough` are in. One call usually
 * answers: a regular file reads short only at its end, so only a read
 * short of `enough` is retried, to tell the two apart.
 */
function fill(e: HostFileRef, fd: number, buf: Uint8Array, at: number, pos: number, want: number, enough = want): number {
  let got = readAt(e, fd, buf, at, want, pos);
  while (got < enough) {
    const n = readAt(e, fd, buf, at + got, want - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** Opens the entry's host file as listed (fsutil/listed-file.ts), its failures said for the layer. */
function openHost(e: HostFileRef): number {
  try {
    return openListedFile(e.hostPath!);
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code;
    if (errno === "ELOOP") throw new LadingError("INVALID_ARGUMENT", `layer entry ${JSON.stringify(e.path)}: ${e.hostPath} is now a symlink; did the file change while the layer was written?`, { cause: err });
    const code = errno === "ENOENT" ? "NOT_FOUND" : "INTERNAL";
    throw new LadingError(code, `layer entry ${JSON.stringify(e.path)}: cannot read ${e.hostPath}: ${(err as Error).message}`, { cause: err });
  }
}

/** readSync, with the errors a file replaced by something else gives said as such. */
function readAt(e: HostFileRef, fd: number, buf: Uint8Array, offset: number, length: number, position: number): number {
  try {
    return readSync(fd, buf, offset, length, position);
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code;
    if (errno === "EAGAIN" || errno === "ESPIPE" || errno === "EISDIR") {
      throw new LadingError("INVALID_ARGUMENT", `layer entry ${JSON.stringify(e.path)}: ${e.hostPath} is no longer a regular file; did the file change while the layer was written?`, { cause: err });
    }
    throw new LadingError("INTERNAL", `layer entry ${JSON.stringify(e.path)}: reading ${e.hostPath}: ${(err as Error).message}`, { cause: err });
  }
}

/** The stream's bytes as Buffers; fails unless they are exactly `size` bytes. */
export async function* checkedContent(e: LayerEntry, size: number, source: Readable | AsyncIterable<unknown>): AsyncGenerator<Buffer> {
  let written = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer | Uint8Array | string>) {
      const buf = typeof chunk === "string" ? Buffer.from(chunk) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      written += buf.length;
      if (written > size) throw sizeMismatch(e, size, `more than ${size}`);
      yield buf;
    }
  } finally {
    // An early return (consumer gone) or an error must release the file.
    (source as Partial<Readable>).destroy?.();
  }
  if (written !== size) throw sizeMismatch(e, size, String(written));
}

function sizeMismatch(e: HostFileRef, size: number, got: string): LadingError {
  return new LadingError(
    "INVALID_ARGUMENT",
    `layer entry ${JSON.stringify(e.path)}: its size is ${size} bytes but ${got} were read; did the file change while the layer was written?`,
  );
}
