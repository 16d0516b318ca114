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
 * A walk of a sub-directory (`COPY src/`) merges only its own part.
 */
import { randomBytes } from "node:crypto";
import { closeSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { sha256, hexOf, type Digest } from "../oci/digest.js";
import { comparePaths } from "../oci/path-order.js";
import type { Store } from "../store/store.js";
import { fsyncDir } from "../fsutil/atomic.js";
import type { HashCache, HashMemo, StatKey } from "./sources/host.js";

/** A file's row; no digest for a file too recently changed to be trusted (put()). */
type Row = [path: string, size: number, mtimeMs: number, ctimeMs: number, ino: number, digest: Digest | null];

/** Bytes read from the old file, and written to the new one, at a time. */
const IO_CHUNK = 256 * 1024;

/**
 * The memo of host directory `root` (one file per root, so unrelated
 * contexts never contend). A walk of the files below `under` replaces the
 * rows below `under` with those of the files it visited (rows of files
 * deleted or left out go) and keeps the others. Walks of one root in this
 * process take turns (the second reads what the first saved); across
 * processes, the last one to save wins.
 */
export function hashMemo(store: Store, root: string): HashMemo {
  const name = hexOf(sha256(root));
  const place = (async () => {
    const dir = await store.stateDir("hashcache");
    // The memo of earlier versions (one JSON object per root): never read again.
    await rm(join(dir, name + ".json"), { force: true });
    return join(dir, name + ".rows");
  })();
  return {
    async open(under) {
      const file = await place;
      const before = turns.get(file) ?? Promise.resolve();
      let done!: () => void;
      const mine = new Promise<void>((res) => (done = res));
      const chain = before.then(() => mine);
      turns.set(file, chain);
      await before;
      return new MergedHashCache(file, under, () => {
        if (turns.get(file) === chain) turns.delete(file);
        done();
      });
    },
    async has(under) {
      const r = new RowReader(await place);
      try {
        // The rows below `under` all sort after `under/`: the first row there tells.
        for (; r.row; r.next()) if (under === "" || comparePaths(r.row[0], `${under}/`) > 0) return within(r.row[0], under);
        return false;
      } finally {
        r.close();
      }
    },
  };
}

/** The walk holding each memo file now, or the last one waiting for it. */
const turns = new Map<string, Promise<void>>();

/** Whether `path` is below `under` ("" holds every path). */
function within(path: string, under: string): boolean {
  return under === "" || (path.length > under.length && path.startsWith(under) && path[under.length] === "/");
}

/**
 * One walk's merge of the old rows and the new ones. Nothing is written
 * while the new rows are the old ones (a rebuild of an unchanged context
 * only reads the memo); at the first difference the rows so far are copied
 * from the old file into a new one, which replaces it at save().
 */
class MergedHashCache implements HashCache {
  private readonly old: RowReader;
  private readonly tmp: string;
  /** The new file, from the first difference on. */
  private out: RowWriter | undefined;
  /** While there is no new file: how many of the old rows the new file would start with. */
  private same = 0;
  private lastGet = "";
  private lastPut = "";
  private released = false;

  constructor(
    private readonly file: string,
    private readonly under: string,
    private readonly release: () => void,
  ) {
    this.old = new RowReader(file);
    this.tmp = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  }

  get(path: string, s: StatKey): Digest | undefined {
    if (!inOrder(this.lastGet, path)) return undefined;
    this.lastGet = path;
    let r = this.old.row;
    for (; r && comparePaths(r[0], path) < 0; r = this.old.next()) this.pass(r);
    if (!r || r[0] !== path) {
      this.diverge();
      return undefined;
    }
    this.old.next();
    if (r[1] === s.size && r[2] === s.mtimeMs && r[3] === s.ctimeMs && r[4] === s.ino && r[5] !== null) return r[5];
    this.diverge();
    return undefined;
  }

  put(path: string, s: StatKey, digest: Digest): void {
    if (!inOrder(this.lastPut, path)) return;
    this.lastPut = path;
    if (this.lastGet === "" || comparePaths(path, this.lastGet) > 0) {
      // Not asked for first (a walk that read every file as it packed them): the row is new, and replaces an old one.
      let r = this.old.row;
      for (; r && comparePaths(r[0], path) < 0; r = this.old.next()) this.pass(r);
      if (r && r[0] === path) this.old.next();
      this.diverge();
    }
    // A file modified within the last 2 s may change again within the same mtime tick: its digest is not
    // trusted later, but its row stays (no digest), so the memo still tells that this directory was walked (has()).
    const recent = Date.now() - s.mtimeMs < 2000;
    if (recent) this.diverge();
    // Until a difference, every file put was met by get() in the old rows, unchanged: its row is the old one.
    if (this.out) this.out.write([path, s.size, s.mtimeMs, s.ctimeMs, s.ino, recent ? null : digest]);
    else this.same++;
  }

  async save(): Promise<void> {
    try {
      for (let r = this.old.row; r; r = this.old.next()) this.pass(r);
      this.old.close();
      if (!this.out) return;
      this.out.close();
      await rename(this.tmp, this.file);
      await fsyncDir(join(this.file, ".."));
    } finally {
      if (this.out) await rm(this.tmp, { force: true });
      this.end();
    }
  }

  discard(): void {
    this.old.close();
    if (this.out) {
      this.out.close();
      rmSync(this.tmp, { force: true });
    }
    this.end();
  }

  private end(): void {
    if (this.released) return;
    this.released = true;
    this.release();
  }

  /** An old row the walk went past: kept when outside this walk's part, gone (a file no longer walked) inside. */
  private pass(r: Row): void {
    if (within(r[0], this.under)) this.diverge();
    else if (this.out) this.out.write(r);
    else this.same++;
  }

  /** The new file differs from the old: starts it with the old rows so far. */
  private diverge(): void {
    if (this.out) return;
    this.out = new RowWriter(this.tmp);
    const again = new RowReader(this.file);
    try {
      for (let i = 0; i < this.same && again.row; i++, again.next()) this.out.write(again.row);
    } finally {
      again.close();
    }
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
    if (Array.isArray(r) && r.length === 6 && typeof r[0] === "string" && (typeof r[5] === "string" || r[5] === null)) return r as Row;
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
