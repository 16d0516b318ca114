/**
 * A persistent memo of host file digests, kept in the store, so that an
 * unchanged build context is stat()ed, not read, on a rebuild. A file whose
 * size, mtime, ctime or inode changed is hashed again; ctime catches writes
 * that restore the old mtime.
 *
 * One file per host root, one row per file (JSON lines, by path relative to
 * the root, in walk order). The walk asks in that same order, so the memo
 * is a merge of two sorted streams: the old rows are read as the walk goes
 * and the new file is written as it goes, and nothing is held per file
 * (a Map of a million rows was ~200 MB, and its JSON a string as large).
 */
import { randomBytes } from "node:crypto";
import { closeSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { sha256, hexOf, type Digest } from "../oci/digest.js";
import { comparePaths } from "../oci/path-order.js";
import type { Store } from "../store/store.js";
import { fsyncDir } from "../fsutil/atomic.js";
import type { HashCache, StatKey } from "./sources/host.js";

type Row = [path: string, size: number, mtimeMs: number, ctimeMs: number, ino: number, digest: Digest];

/** Bytes read from the old file, and written to the new one, at a time. */
const IO_CHUNK = 256 * 1024;

/**
 * The memo of host directory `root` for one walk (one file per root, so
 * unrelated contexts never contend). The new file holds the rows of the
 * files this walk visited (rows of files deleted or left out go); when two
 * walks of one root save, the last one's file stays.
 */
export async function openHashCache(store: Store, root: string): Promise<HashCache> {
  const dir = await store.stateDir("hashcache");
  const file = join(dir, hexOf(sha256(root)) + ".rows");
  // The memo of earlier versions (one JSON object per root): never read again.
  await rm(join(dir, hexOf(sha256(root)) + ".json"), { force: true });
  return new MergedHashCache(file);
}

class MergedHashCache implements HashCache {
  private readonly old: RowReader;
  private readonly out: RowWriter;
  private readonly tmp: string;
  private lastGet = "";
  private lastPut = "";
  /** Whether the new file differs from the old one (a row added, dropped or changed). */
  private changed = false;

  constructor(private readonly file: string) {
    this.old = new RowReader(file);
    this.tmp = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
    this.out = new RowWriter(this.tmp);
  }

  get(path: string, s: StatKey): Digest | undefined {
    if (!inOrder(this.lastGet, path)) return undefined;
    this.lastGet = path;
    let r = this.old.row;
    for (; r && comparePaths(r[0], path) < 0; r = this.old.next()) this.changed = true;
    if (!r || r[0] !== path) {
      this.changed = true;
      return undefined;
    }
    this.old.next();
    if (r[1] === s.size && r[2] === s.mtimeMs && r[3] === s.ctimeMs && r[4] === s.ino) return r[5];
    this.changed = true;
    return undefined;
  }

  put(path: string, s: StatKey, digest: Digest): void {
    if (!inOrder(this.lastPut, path)) return;
    this.lastPut = path;
    // A file modified within the last 2 s may change again within the same mtime tick: do not trust it later.
    if (Date.now() - s.mtimeMs < 2000) {
      this.changed = true;
      return;
    }
    this.out.write([path, s.size, s.mtimeMs, s.ctimeMs, s.ino, digest]);
  }

  async save(): Promise<void> {
    try {
      if (this.old.row) this.changed = true;
      this.old.close();
      this.out.close();
      if (!this.changed) return;
      await rename(this.tmp, this.file);
      await fsyncDir(join(this.file, ".."));
    } finally {
      await rm(this.tmp, { force: true });
    }
  }

  discard(): void {
    this.old.close();
    this.out.close();
    rmSync(this.tmp, { force: true });
  }
}

/** Whether `path` comes after `last` in walk order; a memo asked out of order is not used (it is only a memo). */
function inOrder(last: string, path: string): boolean {
  return last === "" || comparePaths(path, last) > 0;
}

/** The rows of a memo file, one at a time (none when it is absent or unreadable: it is only a memo). */
class RowReader {
  row: Row | undefined;
  private fd: number | undefined;
  /** Bytes read and not yet parsed: this.bytes[this.at, this.end). */
  private bytes = Buffer.allocUnsafe(IO_CHUNK);
  private at = 0;
  private end = 0;
  private eof = false;
  private prev = "";

  constructor(file: string) {
    try {
      this.fd = openSync(file, "r");
    } catch {
      this.eof = true;
    }
    this.next();
  }

  next(): Row | undefined {
    for (;;) {
      const nl = this.bytes.indexOf(0x0a, this.at);
      if (nl >= 0 && nl < this.end) {
        const row = parseRow(this.bytes.toString("utf8", this.at, nl));
        this.at = nl + 1;
        // Rows out of order (a damaged file) are dropped.
        if (row && (this.prev === "" || comparePaths(row[0], this.prev) > 0)) {
          this.prev = row[0];
          return (this.row = row);
        }
        continue;
      }
      if (this.eof || this.fd === undefined) {
        this.close();
        return (this.row = undefined);
      }
      this.refill();
    }
  }

  /** Moves the unparsed bytes to the front (growing the buffer for a line longer than it) and reads more after them. */
  private refill(): void {
    const left = this.end - this.at;
    if (left * 2 > this.bytes.length) {
      const bigger = Buffer.allocUnsafe(this.bytes.length * 2);
      this.bytes.copy(bigger, 0, this.at, this.end);
      this.bytes = bigger;
    } else this.bytes.copy(this.bytes, 0, this.at, this.end);
    this.at = 0;
    this.end = left;
    const n = readSync(this.fd!, this.bytes, this.end, this.bytes.length - this.end, null);
    if (n === 0) this.eof = true;
    this.end += n;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.eof = true;
  }
}

function parseRow(line: string): Row | undefined {
  try {
    const r = JSON.parse(line) as unknown;
    if (Array.isArray(r) && r.length === 6 && typeof r[0] === "string" && typeof r[5] === "string") return r as Row;
  } catch {
    // A torn line: skipped.
  }
  return undefined;
}

/** Rows written in IO_CHUNK pieces. */
class RowWriter {
  private readonly fd: number;
  private pending: string[] = [];
  private bytes = 0;

  constructor(file: string) {
    this.fd = openSync(file, "wx", 0o600);
  }

  write(r: Row): void {
    const line = JSON.stringify(r) + "\n";
    this.pending.push(line);
    this.bytes += line.length;
    if (this.bytes >= IO_CHUNK) this.flush();
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const data = Buffer.from(this.pending.join(""), "utf8");
    for (let at = 0; at < data.length; ) at += writeSync(this.fd, data, at, data.length - at);
    this.pending = [];
    this.bytes = 0;
  }
}
