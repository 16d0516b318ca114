import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { chmod, mkdir, open, readFile, readdir, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { PassThrough, Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type lockfile from "proper-lockfile";
import { LadingError, wrapFsError } from "../errors.js";
import { HashingStream, hexOf, isDigest, sha256, type Digest } from "../oci/digest.js";
import { canonicalJson } from "../oci/json.js";
import { MediaType } from "../oci/mediatypes.js";
import { REF_NAME_ANNOTATION, type Descriptor, type ImageIndex } from "../oci/types.js";
import { checkPrivateDir, checkStoreRoot, ensureDir, isPrivateKind, PRIVATE_DIR_MODE, SHARED_DIR_MODE } from "./access.js";
import { createFileIfAbsent, fsyncDir, writeFileAtomic } from "../fsutil/atomic.js";
import { pidAlive } from "../fsutil/pid-alive.js";
import type { BlobInfo, BlobStore, OpenBlobOpts } from "../oci/blob-store.js";
import { recordUses } from "./use-counts.js";

export type { BlobInfo } from "../oci/blob-store.js";

/**
 * The content-addressed store. On disk it is an OCI image layout
 * (`oci-layout`, `index.json`, `blobs/sha256/…`), so skopeo and umoci read
 * it as it is; lading's own state lives beside it under `lading/`.
 *
 * Invariants: a file under `blobs/` always hashes to its name (written to a
 * temp file, hashed while written, fsynced, renamed); `index.json` and other
 * shared files change only under a lock and by atomic rename. Reads take no
 * lock. Several processes may share one store.
 */
export class Store implements BlobStore {
  readonly root: string;
  /** Shared by a group on purpose ($LADING_SHARED_STORE=1); see access.ts. */
  readonly shared: boolean;
  private made = false;
  private constructor(root: string, shared: boolean) {
    this.root = root;
    this.shared = shared;
  }

  /**
   * Opens (creating if needed, mode 0700) the store at `root`. Refused
   * (UNSAFE_STORE) when another user owns it or others can write it, unless
   * `shared` (a session takes it from $LADING_SHARED_STORE) says it is shared on purpose.
   */
  static async open(root: string, opts: { shared?: boolean } = {}): Promise<Store> {
    return Store.init(root, opts.shared ?? false, true);
  }

  /**
   * Opens (creating if needed) an OCI image layout that lading writes an
   * image into: an output the user named, like a tar file, so it keeps the
   * umask's modes and nobody's ownership is checked; lading's own state
   * inside it is still private.
   */
  static async openLayout(dir: string): Promise<Store> {
    return Store.init(dir, false, false);
  }

  private static async init(root: string, shared: boolean, guarded: boolean): Promise<Store> {
    const s = new Store(root, shared);
    const rootMode = shared ? SHARED_DIR_MODE : PRIVATE_DIR_MODE;
    // Independent steps run side by side: opening a new store was a chain of a dozen waits on the disk
    // (a tenth of a cold `lading push`), most of them folders and two fsynced files.
    try {
      let blobs: Promise<unknown>;
      if (guarded) {
        // Missing parents are made private too (lading made them, for the store alone), but for a group's store.
        const made = await mkdir(root, { recursive: true, ...(shared ? {} : { mode: PRIVATE_DIR_MODE }) });
        if (made !== undefined && shared) await chmod(root, SHARED_DIR_MODE);
        s.made = made !== undefined;
        checkStoreRoot(root, await stat(root), shared);
        blobs = ensureDir(join(root, "blobs", "sha256"), rootMode);
      } else {
        blobs = mkdir(join(root, "blobs", "sha256"), { recursive: true });
      }
      const state = ensureDir(join(root, "lading"), rootMode).then(() => Promise.all(["tmp", "opcache", "pins", "locks"].map((d) => ensureDir(join(root, "lading", d), rootMode))));
      await Promise.all([blobs, state]);
      await Promise.all([
        createFileIfAbsent(join(root, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" })).then(async (r) => {
          if (!r.linked) await writeFileAtomic(join(root, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
        }),
        // Made without the index lock: a new file is linked into place, which never replaces an index someone else wrote.
        createFileIfAbsent(join(root, "index.json"), indexJson({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] })).then(async (r) => {
          if (r.linked) return;
          await s.withLock("index", async () => {
            if (!(await exists(join(root, "index.json")))) await s.writeIndex({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] });
          });
        }),
        s.sweepTemp(),
      ]);
    } catch (err) {
      throw wrapFsError(`opening store ${root}`, err);
    }
    return s;
  }

  get location(): string {
    return this.root;
  }

  /** This open made the store's folder: nothing in it is older than this process. */
  get fresh(): boolean {
    return this.made;
  }

  blobPath(digest: Digest): string {
    return join(this.root, "blobs", "sha256", hexOf(digest));
  }

  /** A path in the store's temp folder (same filesystem as blobs) that is swept once its process is gone. */
  tempPath(prefix = "tmp"): string {
    return join(this.root, "lading", "tmp", `${prefix}.${process.pid}.${randomBytes(8).toString("hex")}`);
  }

  /** The folder for lading's private state of one kind (snapshots, volumes, …), created on demand. */
  async stateDir(kind: string): Promise<string> {
    const d = join(this.root, "lading", kind);
    const priv = !this.shared || isPrivateKind(kind);
    await ensureDir(d, priv ? PRIVATE_DIR_MODE : SHARED_DIR_MODE);
    if (this.shared && priv) await checkPrivateDir(d);
    return d;
  }

  async hasBlob(digest: Digest, size?: number): Promise<boolean> {
    try {
      const st = await stat(this.blobPath(digest));
      return size === undefined || st.size === size;
    } catch {
      return false;
    }
  }

  /**
   * Whether the blob is present, for a caller about to rely on it instead of
   * writing it: its mtime moves to now first, so a garbage collection racing
   * this call either sees it as used and keeps it, or has already taken it
   * away and this answers false (gc.ts re-checks the mtime after moving a
   * file aside, before deleting it).
   */
  async claimBlob(digest: Digest, size?: number): Promise<boolean> {
    const now = new Date();
    await utimes(this.blobPath(digest), now, now).catch(() => {});
    return this.hasBlob(digest, size);
  }

  async blobSize(digest: Digest): Promise<number | undefined> {
    try {
      return (await stat(this.blobPath(digest))).size;
    } catch {
      return undefined;
    }
  }

  /**
   * Stores the bytes of `source` as a blob and returns its digest and size.
   * With `expected`, content whose digest or size differs is refused
   * (DIGEST_MISMATCH) and nothing is stored. Idempotent: storing bytes that
   * are already present succeeds.
   */
  async putBlob(source: Readable | Uint8Array | string, expected?: Partial<BlobInfo>, signal?: AbortSignal): Promise<BlobInfo> {
    if (typeof source === "string" || source instanceof Uint8Array) {
      const buf = typeof source === "string" ? Buffer.from(source) : source;
      const digest = sha256(buf);
      checkExpected(digest, buf.length, expected);
      if (await this.claimBlob(digest, buf.length)) return { digest, size: buf.length };
      const tmp = this.tempPath("blob");
      try {
        await writeFile(tmp, buf, { mode: 0o444, flush: true });
        await this.moveIntoPlace(tmp, digest, true);
      } catch (err) {
        await rm(tmp, { force: true });
        throw wrapFsError(`storing blob ${digest}`, err);
      }
      return { digest, size: buf.length };
    }
    const tmp = this.tempPath("blob");
    const hasher = new HashingStream();
    let out: WriteStream | undefined;
    try {
      out = createWriteStream(tmp, { mode: 0o444, flush: true });
      await pipeline(source, hasher, out, signal ? { signal } : {});
      const digest = hasher.digest();
      checkExpected(digest, hasher.size, expected);
      await this.moveIntoPlace(tmp, digest, true);
      return { digest, size: hasher.size };
    } catch (err) {
      // A source that fails at once can beat the file's open: wait for the
      // stream to close, or the open would make the file after it is removed.
      if (out && !out.closed) await new Promise<void>((done) => out!.once("close", () => done()));
      await rm(tmp, { force: true });
      throw wrapFsError("storing blob", err);
    }
  }

  /**
   * Moves a file already written in the store's temp folder (see tempPath)
   * into place as a blob, hashing it first. The file is gone afterwards
   * whether or not this succeeds.
   */
  async putFile(tmp: string, expected?: Partial<BlobInfo>): Promise<BlobInfo> {
    try {
      const hasher = new HashingStream();
      await pipeline(createReadStream(tmp), hasher, new DevNull());
      const digest = hasher.digest();
      checkExpected(digest, hasher.size, expected);
      await chmod(tmp, 0o444);
      await this.moveIntoPlace(tmp, digest);
      return { digest, size: hasher.size };
    } catch (err) {
      await rm(tmp, { force: true });
      throw wrapFsError(`storing ${tmp}`, err);
    }
  }

  /**
   * Moves a file already written in the store's temp folder into place
   * without reading it again: for writers that hashed the bytes as they
   * wrote them (`computed`). Refused, and the file removed, when `computed`
   * differs from `expected`.
   */
  async adoptFile(tmp: string, computed: BlobInfo, expected?: Partial<BlobInfo>): Promise<BlobInfo> {
    try {
      checkExpected(computed.digest, computed.size, expected);
      const st = await stat(tmp);
      if (st.size !== computed.size) throw new LadingError("DIGEST_MISMATCH", `${tmp} holds ${st.size} bytes, not the ${computed.size} that were hashed`);
      await chmod(tmp, 0o444);
      await this.moveIntoPlace(tmp, computed.digest);
      return computed;
    } catch (err) {
      await rm(tmp, { force: true });
      throw wrapFsError(`storing ${tmp}`, err);
    }
  }

  /** `synced`: the writer flushed the file already (written with `flush`), so it is not opened again to fsync it. */
  private async moveIntoPlace(tmp: string, digest: Digest, synced = false): Promise<void> {
    if (!synced) {
      const fh = await open(tmp, "r");
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    // Renaming over an existing blob is safe: both hold the same bytes.
    await rename(tmp, this.blobPath(digest));
    await fsyncDir(join(this.root, "blobs", "sha256"));
  }

  /**
   * A stream of a blob's bytes. With `verify`, the stream fails with
   * DIGEST_MISMATCH at its end if the bytes do not match the name.
   */
  openBlob(digest: Digest, opts: OpenBlobOpts = {}): Readable {
    const partial = Boolean(opts.start) || opts.end !== undefined;
    const hwm = opts.chunkSize ? { highWaterMark: opts.chunkSize } : {};
    const rs = createReadStream(this.blobPath(digest), { ...(opts.start ? { start: opts.start } : {}), ...(opts.end !== undefined ? { end: opts.end } : {}), ...hwm });
    const out = opts.verify && !partial ? new HashingStream() : new PassThrough(hwm);
    if (out instanceof HashingStream) {
      out._flush = (cb) => {
        const got = out.digest();
        cb(got === digest ? null : new LadingError("DIGEST_MISMATCH", `blob ${digest} in ${this.root} is corrupt (hashes to ${got}); run \`lading fsck --repair\``));
      };
    }
    rs.on("error", (e) => out.destroy(notFound(e, digest)));
    return rs.pipe(out);
  }

  /** Reads a whole (small) blob and checks its digest. */
  async readBlob(digest: Digest): Promise<Buffer> {
    let buf: Buffer;
    try {
      buf = await readFile(this.blobPath(digest));
    } catch (err) {
      throw notFound(err, digest);
    }
    const got = sha256(buf);
    if (got !== digest) throw new LadingError("DIGEST_MISMATCH", `blob ${digest} in ${this.root} is corrupt (hashes to ${got}); run \`lading fsck --repair\``);
    return buf;
  }

  async readJson<T>(digest: Digest): Promise<T> {
    return JSON.parse((await this.readBlob(digest)).toString("utf8")) as T;
  }

  /** Stores a JSON value in lading's fixed serialisation. */
  async putJson(value: unknown): Promise<BlobInfo & { bytes: Buffer }> {
    const bytes = Buffer.from(canonicalJson(value));
    const info = await this.putBlob(bytes);
    return { ...info, bytes };
  }

  // ---- locks ----

  /**
   * Runs `fn` holding the named store-wide lock. Locks held by a process
   * that died are broken once stale (proper-lockfile refreshes live ones).
   */
  async withLock<T>(name: string, fn: () => Promise<T>, opts: { waitForever?: boolean } = {}): Promise<T> {
    let release: () => Promise<void>;
    try {
      // Store-internal locks guard short critical sections, so a long wait means something is wrong;
      // `waitForever` is for locks held across user work (a LOCKED cache mount during a long RUN).
      release = await this.takeLock(name, opts.waitForever ? { forever: true, factor: 1.3, minTimeout: 5, maxTimeout: 500, randomize: true } : { retries: 400, factor: 1.3, minTimeout: 5, maxTimeout: 250, randomize: true });
    } catch (err) {
      throw new LadingError("INTERNAL", `could not take the store lock "${name}" in ${this.root}`, { cause: err });
    }
    try {
      return await fn();
    } finally {
      await release().catch(() => {});
    }
  }

  /** Takes the named lock if it is free right now; undefined when another process (or call) holds it. */
  async tryLock(name: string): Promise<(() => Promise<void>) | undefined> {
    try {
      return await this.takeLock(name, { retries: 0 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ELOCKED") return undefined;
      throw new LadingError("INTERNAL", `could not take the store lock "${name}" in ${this.root}`, { cause: err });
    }
  }

  private async takeLock(name: string, retries: lockfile.LockOptions["retries"]): Promise<() => Promise<void>> {
    await mkdir(join(this.root, "lading", "locks"), { recursive: true });
    // Loaded on the first lock (~11 ms with graceful-fs, signal-exit and retry): many commands never take one.
    const { lock } = (await import("proper-lockfile")).default;
    return lock(join(this.root, "lading", "locks", name), { realpath: false, stale: 10_000, update: 2_000, retries });
  }

  // ---- index.json: named images ----

  async readIndex(): Promise<ImageIndex> {
    try {
      return JSON.parse(await readFile(join(this.root, "index.json"), "utf8")) as ImageIndex;
    } catch (err) {
      throw wrapFsError(`reading ${join(this.root, "index.json")}`, err);
    }
  }

  private async writeIndex(index: ImageIndex): Promise<void> {
    await writeFileAtomic(join(this.root, "index.json"), indexJson(index));
  }

  /** The descriptor stored under `name`, if any. */
  async resolveName(name: string): Promise<Descriptor | undefined> {
    const idx = await this.readIndex();
    return idx.manifests.find((d) => d.annotations?.[REF_NAME_ANNOTATION] === name);
  }

  /** Names → descriptors, in index order. */
  async listNames(): Promise<Array<{ name: string; descriptor: Descriptor }>> {
    const idx = await this.readIndex();
    return idx.manifests
      .filter((d) => d.annotations?.[REF_NAME_ANNOTATION])
      .map((d) => ({ name: d.annotations![REF_NAME_ANNOTATION]!, descriptor: d }));
  }

  /** Points `name` at `descriptor` (whose blob must already be stored), replacing what it pointed at. */
  async tag(name: string, descriptor: Descriptor): Promise<void> {
    if (!(await this.hasBlob(descriptor.digest, descriptor.size))) {
      throw new LadingError("NOT_FOUND", `cannot name ${descriptor.digest} "${name}": the manifest is not in the store`);
    }
    await this.withLock("index", async () => {
      const idx = await this.readIndex();
      const entry: Descriptor = { ...descriptor, annotations: { ...descriptor.annotations, [REF_NAME_ANNOTATION]: name } };
      idx.manifests = idx.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== name);
      idx.manifests.push(entry);
      await this.writeIndex(idx);
    });
  }

  /** Removes `name`; returns whether it existed. Blobs stay until garbage collection. */
  async untag(name: string): Promise<boolean> {
    return this.withLock("index", async () => {
      const idx = await this.readIndex();
      const before = idx.manifests.length;
      idx.manifests = idx.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== name);
      if (idx.manifests.length === before) return false;
      await this.writeIndex(idx);
      return true;
    });
  }

  // ---- op cache and pins: small JSON records keyed by a hash ----

  /** The op cache entry for `key` (a digest over an op and its inputs), if one was recorded. */
  async getCached<T>(key: Digest): Promise<T | undefined> {
    return readRecord<T>(join(this.root, "lading", "opcache", hexOf(key) + ".json"));
  }

  /**
   * Records the result of the op whose cache key is `key`. Not fsynced (the
   * rename stays atomic): a record lost in a crash means the op runs again,
   * one cut short reads as a miss (readRecord), and the blobs it names were
   * made durable before it. The two fsyncs were a tenth of a no-change exec.
   */
  async putCached(key: Digest, value: unknown): Promise<void> {
    await writeFileAtomic(join(this.root, "lading", "opcache", hexOf(key) + ".json"), JSON.stringify(value), 0o644, { durable: false });
  }

  async removeCached(key: Digest): Promise<void> {
    await rm(join(this.root, "lading", "opcache", hexOf(key) + ".json"), { force: true });
  }

  /** The digest `reference` was last resolved to (a digest pin), if any. */
  async getPin(reference: string): Promise<{ reference: string; digest: Digest; mediaType?: string; size?: number } | undefined> {
    return readRecord(join(this.root, "lading", "pins", hexOf(sha256(reference)) + ".json"));
  }

  async setPin(reference: string, pin: { digest: Digest; mediaType?: string; size?: number }): Promise<void> {
    await writeFileAtomic(join(this.root, "lading", "pins", hexOf(sha256(reference)) + ".json"), JSON.stringify({ reference, ...pin }));
  }

  /**
   * Marks blobs, op-cache records or unpacked trees as used now (their
   * mtime), so garbage collection frees the least recently used first.
   * Best effort and cheap: a missing target is ignored.
   */
  async touch(...targets: Array<{ blob: Digest } | { cacheKey: Digest } | { path: string }>): Promise<void> {
    const now = new Date();
    await Promise.all(
      targets.map((t) => {
        const p = "blob" in t ? this.blobPath(t.blob) : "cacheKey" in t ? join(this.root, "lading", "opcache", hexOf(t.cacheKey) + ".json") : t.path;
        return utimes(p, now, now).catch(() => {});
      }),
    );
    await recordUses(this.root, targets.map((t) => ("blob" in t ? t.blob : "cacheKey" in t ? hexOf(t.cacheKey) : t.path)));
  }

  /** All blob digests present. */
  async listBlobs(): Promise<Digest[]> {
    const names = await readdir(join(this.root, "blobs", "sha256"));
    return names.map((n) => `sha256:${n}` as Digest).filter(isDigest);
  }

  /** Removes temp files left by processes that no longer run. */
  async sweepTemp(): Promise<void> {
    const dir = join(this.root, "lading", "tmp");
    let names: string[] = [];
    try {
      names = await readdir(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const pid = Number(n.split(".")[1]);
      if (Number.isInteger(pid) && pid > 0 && !pidAlive(pid)) await rm(join(dir, n), { recursive: true, force: true }).catch(() => {});
    }
    // Temp files named by atomic writes beside their targets (".x.<pid>.<rand>.tmp") in the store root.
    for (const n of await readdir(this.root).catch(() => [] as string[])) {
      const m = /^\..*\.(\d+)\.[0-9a-f]+\.tmp$/.exec(n);
      if (m && !pidAlive(Number(m[1]))) await rm(join(this.root, n), { force: true }).catch(() => {});
    }
  }
}

function checkExpected(digest: Digest, size: number, expected?: Partial<BlobInfo>): void {
  if (expected?.size !== undefined && expected.size !== size) {
    throw new LadingError("DIGEST_MISMATCH", `content size ${size} does not match the expected size ${expected.size}${expected.digest ? " of " + expected.digest : ""}`);
  }
  if (expected?.digest !== undefined && expected.digest !== digest) {
    throw new LadingError("DIGEST_MISMATCH", `content digest ${digest} does not match the expected ${expected.digest}`);
  }
}

function notFound(err: unknown, digest: Digest): Error {
  if ((err as NodeJS.ErrnoException)?.code === "ENOENT") return new LadingError("NOT_FOUND", `blob ${digest} is not in the store`, { cause: err });
  return err as Error;
}

function indexJson(index: ImageIndex): string {
  return JSON.stringify(index, null, 2) + "\n";
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function readRecord<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}

class DevNull extends Writable {
  override _write(_c: unknown, _e: unknown, cb: () => void): void {
    cb();
  }
}
