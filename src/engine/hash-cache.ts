/**
 * A persistent memo of host file digests, kept in the store, so that an
 * unchanged build context is stat()ed, not read, on a rebuild. A file whose
 * size, mtime, ctime or inode changed is hashed again; ctime catches writes
 * that restore the old mtime. Entries are per absolute path.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { sha256, hexOf, type Digest } from "../oci/digest.js";
import type { Store } from "../store/store.js";
import { writeFileAtomic } from "../fsutil/atomic.js";
import type { HashCache, StatKey } from "./sources/host.js";

type Row = [size: number, mtimeMs: number, ctimeMs: number, ino: number, digest: Digest];

export class StoreHashCache implements HashCache {
  private rows = new Map<string, Row>();
  private dirty = false;
  private constructor(private readonly file: string) {}

  /** The cache for host directory `root` (one file per root, so unrelated contexts never contend). */
  static async load(store: Store, root: string): Promise<StoreHashCache> {
    const dir = await store.stateDir("hashcache");
    const c = new StoreHashCache(join(dir, hexOf(sha256(root)) + ".json"));
    try {
      c.rows = new Map(Object.entries(JSON.parse(await readFile(c.file, "utf8")) as Record<string, Row>));
    } catch {
      // Absent or unreadable: start empty; it is only a memo.
    }
    return c;
  }

  get(path: string, s: StatKey): Digest | undefined {
    const r = this.rows.get(path);
    return r && r[0] === s.size && r[1] === s.mtimeMs && r[2] === s.ctimeMs && r[3] === s.ino ? r[4] : undefined;
  }

  set(path: string, s: StatKey, digest: Digest): void {
    // A file modified within the last 2 s may change again within the same mtime tick: do not trust it later.
    if (Date.now() - s.mtimeMs < 2000) return;
    this.rows.set(path, [s.size, s.mtimeMs, s.ctimeMs, s.ino, digest]);
    this.dirty = true;
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    await writeFileAtomic(this.file, JSON.stringify(Object.fromEntries(this.rows)));
    this.dirty = false;
  }
}
