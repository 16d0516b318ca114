/**
 * Reads a host directory into a Tree (its key: metadata plus content
 * digests), with docker's .dockerignore semantics for `exclude` and
 * `include`. The listing is not held: the key is hashed as the walk goes,
 * and the tree walks the directory again when its entries are wanted. The
 * key is computed when first asked for, or by the step that packs the
 * tree, from the digests its layer writer computes (keyedWalk).
 */
import { createHash } from "node:crypto";
import { closeSync, readSync } from "node:fs";
import { lstat } from "node:fs/promises";
import { setImmediate as nextTurn } from "node:timers/promises";
import { resolve } from "node:path";
import { LadingError } from "../../errors.js";
import type { Digest } from "../../oci/digest.js";
import { openListedFile } from "../../fsutil/listed-file.js";
import { TreeKey, type KeyedWalk, type TreeEntry, type WalkedTree } from "../tree.js";
import { walkHost, type HostWalkOptions, type StatKey, type WalkedEntry } from "./host-walk.js";
import { FileHasher, type PendingDigest } from "./file-hasher.js";

export type { StatKey } from "./host-walk.js";

export interface HostDirectoryOptions extends HostWalkOptions {
  /** Remembers file digests by (path, size, mtime, inode, ctime) so unchanged files are not read again. */
  memo?: HashMemo;
}

/** The file-digest memo of one host directory (engine/hash-cache.ts). Paths are relative to that directory. */
export interface HashMemo {
  /** The memo for one walk of the files below `under` ("" for all), held by it until save() or discard(). */
  open(under: string): Promise<HashCache>;
  /** Whether it knows any file below `under`. */
  has(under: string): Promise<boolean>;
}

/**
 * A file-digest memo keyed by what changes when a file's bytes do, for one
 * walk. get() is asked for each file in walk order, and put() told each
 * file's digest in walk order (after its get, perhaps some files later;
 * or without a get, for a walk that read every file anyway).
 */
export interface HashCache {
  get(path: string, stat: StatKey): Digest | undefined;
  put(path: string, stat: StatKey, digest: Digest): void;
  /** Keeps what this walk put (called once, after it): the files it did not visit are forgotten. */
  save(): Promise<void>;
  /** Leaves the memo as it was (a walk that failed). */
  discard(): void;
}

/** Entries walked between turns of the event loop (~1 ms of lstat calls). */
const YIELD_EVERY = 500;

/**
 * `root` (not following symlinks) as a Tree. Owners are reset to 0:0, as
 * docker's COPY does: the building user's ids must not leak into images.
 * Sockets are skipped. Nothing is walked or read until asked for.
 */
export async function readHostDirectory(root: string, opts: HostDirectoryOptions = {}): Promise<WalkedTree> {
  const abs = resolve(root);
  let st;
  try {
    st = await lstat(abs);
  } catch (err) {
    throw new LadingError("NOT_FOUND", `host directory ${abs} does not exist`, { cause: err });
  }
  if (!st.isDirectory()) throw new LadingError("INVALID_ARGUMENT", `host path ${abs} is not a directory`);
  return hostTree(abs, { exclude: opts.exclude, include: opts.include, owners: opts.owners, ...(opts.mtimeCeiling !== undefined ? { mtimeCeiling: opts.mtimeCeiling } : {}) }, opts.memo, "");
}

/** The tree of `abs`, or of its directory `under` (relative; the patterns still apply from `abs`). */
function hostTree(abs: string, rootOpts: HostWalkOptions, memo: HashMemo | undefined, under: string): WalkedTree {
  const walkOpts: HostWalkOptions = under ? { ...rootOpts, under } : rootOpts;
  const place: Place = { abs, walkOpts, memo, under };
  let key: Promise<Digest> | undefined;
  // Listed once: a Containerfile's COPY of each sub-folder asks for the whole listing again.
  let listed: Promise<readonly TreeEntry[]> | undefined;
  /** A walk that failed (a file vanished) is tried afresh next time. */
  const retry = <T>(p: Promise<T>, forget: () => void): Promise<T> =>
    p.catch((err: unknown) => {
      forget();
      throw err;
    });
  return {
    computeKey: () =>
      (key ??= retry(
        (async () => {
          const k = new TreeKey();
          await digestWalk(place, (e) => k.add(e));
          return k.digest();
        })(),
        () => (key = undefined),
      )),
    keyCold: async () => key === undefined && !(await memo?.has(under)),
    keyedWalk: async () => {
      const walk = await keyedWalk(place);
      return {
        ...walk,
        entries: walk.entries,
        finish: async () => {
          const k = await walk.finish();
          key ??= Promise.resolve(k);
          return k;
        },
      };
    },
    walk: () => walkHost(abs, walkOpts),
    list: () =>
      (listed ??= retry(
        (async () => {
          const entries: TreeEntry[] = [];
          await digestWalk(place, (e) => entries.push(e));
          return entries;
        })(),
        () => (listed = undefined),
      )),
    lookup: (path) => {
      if (path === "") return undefined;
      for (const e of walkHost(abs, { ...walkOpts, only: path })) return e;
      return undefined;
    },
    find: async (path) => {
      if (path === "") return undefined;
      for (const e of walkHost(abs, { ...walkOpts, only: path })) {
        if (e.type === "file") e.contentDigest = await hashFile((e.content as { path: string }).path);
        return e;
      }
      return undefined;
    },
    sub: (path) => hostTree(abs, rootOpts, memo, under ? `${under}/${path}` : path),
  };
}

/** What a walk of a host tree needs. */
interface Place {
  abs: string;
  walkOpts: HostWalkOptions;
  memo: HashMemo | undefined;
  /** The tree's directory in `abs`; the memo's paths are from `abs`. */
  under: string;
}

function memoPath(place: Place, path: string): string {
  return place.under ? `${place.under}/${path}` : path;
}

/**
 * The walk of a layer written from a tree nothing knows the digests of: the
 * layer writer reads each file anyway, and gives its digest (fileDigest),
 * so the key is made of those instead of a read of its own. Entries wait
 * (in walk order) until the digests before them are in: as many as the
 * writer has in flight.
 */
async function keyedWalk(place: Place): Promise<KeyedWalk> {
  const cache = await place.memo?.open(place.under);
  const key = new TreeKey();
  const waiting = new Queue<WalkedEntry>();
  const unread = new Queue<WalkedEntry>();
  /** The digest of each inode with several names, by the first name's (undefined: not read yet). */
  const linked = new Map<string, Digest | undefined>();
  let ended = false;
  const keyReady = (): void => {
    for (let e = waiting.peek(); e; e = waiting.peek()) {
      if (e.type === "file") {
        if (e.contentDigest === undefined) {
          // A later name of an inode: the digest of its first name, which came before it.
          const first = e.linkId !== undefined ? linked.get(e.linkId) : undefined;
          if (first === undefined) return;
          e.contentDigest = first;
        } else if (e.linkId !== undefined && linked.get(e.linkId) === undefined) linked.set(e.linkId, e.contentDigest);
        if (e.stat) cache?.put(memoPath(place, e.path), e.stat, e.contentDigest);
      }
      key.add(e);
      waiting.shift();
    }
  };
  function* entries(): Generator<TreeEntry> {
    for (const e of walkHost(place.abs, place.walkOpts)) {
      // The writer reads a file's bytes under its first name only; the others become links to it.
      if (e.type === "file" && (e.linkId === undefined || !linked.has(e.linkId))) {
        if (e.linkId !== undefined) linked.set(e.linkId, undefined);
        unread.push(e);
      }
      waiting.push(e);
      // Keyed at once when no read is pending before it: later names of linked files (no read of their own) must not pile up.
      if (unread.length === 0) keyReady();
      yield e;
    }
    ended = true;
  }
  let settled = false;
  const abort = (): void => {
    if (settled) return;
    settled = true;
    cache?.discard();
  };
  return {
    entries: entries(),
    fileDigest(d) {
      const e = unread.shift();
      if (!e) throw new LadingError("INTERNAL", "the layer writer gave the digest of a file the walk did not give it");
      e.contentDigest = d;
      keyReady();
    },
    async finish() {
      keyReady();
      if (!ended || waiting.peek() !== undefined) {
        abort();
        throw new LadingError("INTERNAL", "the layer was written without reading every file of its walk");
      }
      settled = true;
      await cache?.save();
      return key.digest();
    },
    abort,
  };
}

/** A FIFO that does not move its elements on every shift. */
class Queue<T> {
  private items: Array<T | undefined> = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(x: T): void {
    this.items.push(x);
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  shift(): T | undefined {
    const x = this.items[this.head];
    if (x === undefined) return undefined;
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
}

/** Files hashed on this thread before the hashing thread is started (starting it costs ~30 ms). */
const INLINE_FILES = 2000;
/** Entries walked ahead of the oldest one still waiting for its digest. */
const MAX_AHEAD = 4096;

/**
 * Walks `abs`, giving each entry to `take`, in walk order, with its content
 * digest: from the memo, else read. Past the first INLINE_FILES files the
 * reading and hashing is done by a thread while this one walks on.
 */
async function digestWalk(place: Place, take: (e: TreeEntry) => void): Promise<void> {
  const cache = await place.memo?.open(place.under);
  const buf = Buffer.allocUnsafe(HASH_READ_SIZE);
  let hasher: FileHasher | undefined;
  let inline = 0;
  /** Entries waiting (in order) for a digest being computed on the thread, or behind one that is. */
  const ahead = new Queue<{ e: WalkedEntry; pending?: PendingDigest }>();
  /** The digest (or the hashing) of each inode with several names, by its first name met. */
  const linked = new Map<string, Digest | PendingDigest>();
  const hand = (e: WalkedEntry): void => {
    if (e.stat) cache?.put(memoPath(place, e.path), e.stat, e.contentDigest!);
    take(e);
  };
  /** Hands on the oldest entry; waits only when its digest is still being computed. */
  const finish = (): Promise<void> | void => {
    const { e, pending } = ahead.shift()!;
    if (!pending) return hand(e);
    return pending.batch.then((digests) => {
      e.contentDigest = digests[pending.index];
      // Later names take the digest itself: the batch's array can go.
      if (e.linkId !== undefined && linked.get(e.linkId) === pending) linked.set(e.linkId, e.contentDigest!);
      hand(e);
    });
  };
  let ok = false;
  try {
    let sinceTurn = 0;
    for (const e of walkHost(place.abs, place.walkOpts)) {
      const stat = e.stat;
      let pending: PendingDigest | undefined;
      if (stat) {
        e.contentDigest = cache?.get(memoPath(place, e.path), stat);
        // Another name of an inode met before has its bytes: hashing them again (a pnpm store, a tree of hard-linked copies) is waste.
        const same = e.contentDigest === undefined && e.linkId !== undefined ? linked.get(e.linkId) : undefined;
        if (typeof same === "string") e.contentDigest = same;
        else if (same) pending = same;
        else if (e.contentDigest === undefined) {
          const path = (e.content as { path: string }).path;
          if (inline < INLINE_FILES) {
            inline++;
            e.contentDigest = await hashFile(path, buf);
            sinceTurn += stat.size;
          } else pending = (hasher ??= new FileHasher()).add(path, stat.size);
        }
        if (e.linkId !== undefined && !same) linked.set(e.linkId, pending ?? e.contentDigest!);
      }
      // Nothing to wait for (a memo that knows the files): handed on at once, no queue.
      if (!pending && ahead.length === 0) hand(e);
      else ahead.push({ e, pending });
      if (ahead.length > MAX_AHEAD) {
        hasher?.flush();
        while (ahead.length > MAX_AHEAD / 2) await finish();
      }
      // The walk and the hashing block; the event loop gets a turn every few ms of either.
      sinceTurn += TURN_BYTES / YIELD_EVERY;
      if (sinceTurn >= TURN_BYTES) {
        sinceTurn = 0;
        await nextTurn();
      }
    }
    hasher?.flush();
    while (ahead.length > 0) await finish();
    ok = true;
  } finally {
    await hasher?.close();
    // A failed walk keeps what the memo had: it may have stopped anywhere.
    if (ok) await cache?.save();
    else cache?.discard();
  }
}

/** Read size for hashing: one buffer, reused for every file. */
const HASH_READ_SIZE = 256 * 1024;
/** Bytes hashed between turns of the event loop (a few ms of work). */
const TURN_BYTES = 8 * 1024 * 1024;

/**
 * The sha256 of a file's bytes. `buf` is scratch space to read into (reused
 * across files by callers hashing many). Blocking reads: for the small
 * files a build context is mostly made of, an async read costs a
 * thread-pool round trip per call, ~15× the CPU; the event loop gets a
 * turn every TURN_BYTES.
 */
export async function hashFile(path: string, buf: Buffer = Buffer.allocUnsafe(HASH_READ_SIZE)): Promise<Digest> {
  const h = createHash("sha256");
  const fd = openListedFile(path);
  try {
    let sinceTurn = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      sinceTurn += n;
      if (sinceTurn >= TURN_BYTES) {
        sinceTurn = 0;
        await nextTurn();
      }
    }
  } finally {
    closeSync(fd);
  }
  return `sha256:${h.digest("hex")}`;
}

