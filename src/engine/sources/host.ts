/**
 * Reads a host directory into a Tree (its key: metadata plus content
 * digests), with docker's .dockerignore semantics for `exclude` and
 * `include`. The listing is not held: the key is hashed as the walk goes,
 * and the tree walks the directory again when its entries are wanted.
 */
import { createHash } from "node:crypto";
import { closeSync, readSync } from "node:fs";
import { lstat } from "node:fs/promises";
import { setImmediate as nextTurn } from "node:timers/promises";
import { resolve } from "node:path";
import { LadingError } from "../../errors.js";
import type { Digest } from "../../oci/digest.js";
import { openListedFile } from "../../fsutil/listed-file.js";
import { TreeKey, type TreeEntry, type WalkedTree } from "../tree.js";
import { walkHost, type HostWalkOptions, type StatKey, type WalkedEntry } from "./host-walk.js";
import { FileHasher, type PendingDigest } from "./file-hasher.js";

export type { StatKey } from "./host-walk.js";

export interface HostDirectoryOptions extends HostWalkOptions {
  /**
   * Remembers file digests by (path, size, mtime, inode, ctime) so unchanged
   * files are not read again; one memo per walk, asked in walk order.
   */
  hashCache?: () => Promise<HashCache>;
}

/**
 * A file-digest memo keyed by what changes when a file's bytes do, for one
 * walk. Paths are relative to the walked root; get() is asked for each file
 * in walk order, and put() told each file's digest in walk order (after its
 * get, perhaps some files later).
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
 * Sockets are skipped.
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
  const walkOpts: HostWalkOptions = { exclude: opts.exclude, include: opts.include, owners: opts.owners, ...(opts.mtimeCeiling !== undefined ? { mtimeCeiling: opts.mtimeCeiling } : {}) };
  const key = new TreeKey();
  await digestWalk(abs, walkOpts, opts.hashCache, (e) => key.add(e));
  // Listed once: a Containerfile's COPY of each sub-folder asks for the whole listing again.
  let listed: Promise<readonly TreeEntry[]> | undefined;
  return {
    key: key.digest(),
    walk: () => walkHost(abs, walkOpts),
    list: () =>
      (listed ??= (async () => {
        const entries: TreeEntry[] = [];
        await digestWalk(abs, walkOpts, opts.hashCache, (e) => entries.push(e));
        return entries;
      })().catch((err: unknown) => {
        listed = undefined; // a walk that failed (a file vanished) is tried afresh next time
        throw err;
      })),
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
  };
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
async function digestWalk(abs: string, walkOpts: HostWalkOptions, memo: HostDirectoryOptions["hashCache"], take: (e: TreeEntry) => void): Promise<void> {
  const cache = await memo?.();
  const buf = Buffer.allocUnsafe(HASH_READ_SIZE);
  let hasher: FileHasher | undefined;
  let inline = 0;
  const ahead: Array<{ e: WalkedEntry; pending?: PendingDigest }> = [];
  /** The digest (or the hashing) of each inode with several names, by its first name met. */
  const linked = new Map<string, Digest | PendingDigest>();
  const finish = async (): Promise<void> => {
    const { e, pending } = ahead.shift()!;
    if (pending) {
      e.contentDigest = (await pending.batch)[pending.index];
      // Later names take the digest itself: the batch's array can go.
      if (e.linkId !== undefined && linked.get(e.linkId) === pending) linked.set(e.linkId, e.contentDigest!);
    }
    if (e.stat) cache?.put(e.path, e.stat, e.contentDigest!);
    take(e);
  };
  let ok = false;
  try {
    let sinceTurn = 0;
    for (const e of walkHost(abs, walkOpts)) {
      const stat = e.stat;
      let pending: PendingDigest | undefined;
      if (stat) {
        e.contentDigest = cache?.get(e.path, stat);
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
      ahead.push({ e, pending });
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

