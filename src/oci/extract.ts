/**
 * Safe extraction of layer tars into a directory, with OCI whiteouts.
 *
 * The rule: nothing is ever written outside `root`.
 * - Names: leading "/" and "./" are stripped (an absolute name is taken as
 *   relative to `root`, as GNU tar does); a ".." component is refused with
 *   UNSAFE_ARCHIVE (see normalizeTarName).
 * - Parent directories are resolved one component at a time with lstat.
 *   A symlink met on the way is followed *inside* root, as if root were
 *   "/" (chroot semantics, as containerd's and moby's extractors do), so a
 *   merged-/usr image's `lib -> usr/lib` works and `a -> /etc` then
 *   `a/passwd` lands in root/etc/passwd, never /etc/passwd.
 * - The entry itself is never followed: whatever is at its path (a symlink
 *   included) is removed first and the new entry created with O_EXCL |
 *   O_NOFOLLOW, so a later duplicate replaces, never writes through.
 * - Hardlink targets are layer paths resolved the same way; linking to a
 *   symlink links the symlink itself (linkat without FOLLOW).
 * - Device nodes are made only when running as root; otherwise they are
 *   skipped or refused (`devices`).
 * - Whiteouts resolve their parent the same way but never create it (a
 *   whiteout in a missing directory hides nothing). With whiteouts applied,
 *   entries below a `.wh.`-named directory are skipped, as moby skips
 *   AUFS metadata: that directory is itself a whiteout, it never exists.
 * - Modes are set with chmod, which follows symlinks (Linux has no
 *   lchmod): every deferred chmod checks with lstat that its path is still
 *   the directory it was, and removals forget what was deferred below them.
 *
 * On failure the root holds whatever was extracted so far; callers extract
 * into a temporary directory and discard it on error.
 */
import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { chmod, lchown, link, lstat, lutimes, mkdir, open, readdir, readlink, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { promisify } from "node:util";
import { LadingError } from "../errors.js";
import { readBlobHead, type BlobReader } from "./blob-store.js";
import { createDecompressor, sniffCompression } from "./compress.js";
import { HashingStream } from "./digest.js";
import { OPAQUE_WHITEOUT, WHITEOUT_PREFIX } from "./layer-entry.js";
import { readTarEntries, type TarHeader } from "./tar-reader.js";
import { layerCompression } from "./mediatypes.js";
import type { LayerRef } from "./types.js";
import { pipeline } from "node:stream/promises";

const execFileP = promisify(execFile);

export interface ExtractOptions {
  /** Apply OCI whiteouts (.wh.name removes name; .wh..wh..opq empties the directory of what lower layers put there) — true when stacking layers into a root filesystem. */
  applyWhiteouts?: boolean;
  /** Set file owners (lchown). Default: true when running as root (uid 0, also inside a user namespace). When false, owners are ignored. */
  chown?: boolean;
  /** What to do with device nodes when they cannot be created (not root): "skip" (default) or "error". */
  devices?: "skip" | "error";
  signal?: AbortSignal;
}

/** How many symlinks one path may pass through (Linux's MAXSYMLINKS is 40). */
const MAX_SYMLINKS = 40;

/**
 * Extracts an uncompressed layer tar into `root` (created if missing).
 * Throws UNSAFE_ARCHIVE (naming the entry) for entries that would escape,
 * INVALID_IMAGE for malformed tars, CANCELLED on abort.
 */
export async function extractLayer(tar: Readable, root: string, opts: ExtractOptions = {}): Promise<{ entries: number }> {
  const x = new Extractor(root, opts);
  await mkdir(x.root, { recursive: true });
  let entries = 0;
  try {
    for await (const { header, stream } of readTarEntries(tar)) {
      if (opts.signal?.aborted) throw new LadingError("CANCELLED", `extracting a layer into ${root}: cancelled`);
      await x.entry(header, stream);
      entries++;
    }
    await x.finish();
  } catch (err) {
    tar.destroy();
    if (err instanceof LadingError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e?.code === "ENOSPC") throw new LadingError("NO_SPACE", `extracting a layer into ${root}: no space left on device`, { cause: err });
    throw new LadingError("INTERNAL", `extracting a layer into ${root}: ${e?.message ?? String(err)}`, { cause: err });
  }
  return { entries };
}

/**
 * Extracts a layer blob from `store`: decompressed per its media type (or
 * what its first bytes say, when they disagree), its diffId checked on the
 * uncompressed bytes as they stream (DIGEST_MISMATCH; the root then holds
 * unverified content and must be discarded).
 */
export async function extractLayerBlob(store: BlobReader, layer: LayerRef, root: string, opts: ExtractOptions = {}): Promise<void> {
  const head = await readBlobHead(store, layer.descriptor.digest, 4);
  const declared = layerCompression(layer.descriptor.mediaType);
  const sniffed = sniffCompression(head);
  // Some registries label gzip layers as plain tar (and vice versa); the bytes decide.
  const kind = sniffed !== "none" ? sniffed : declared === "none" ? "none" : declared;
  const hasher = new HashingStream();
  const feeding = pipeline(store.openBlob(layer.descriptor.digest, { verify: true }), createDecompressor(kind), hasher, opts.signal ? { signal: opts.signal } : {});
  feeding.catch(() => {}); // awaited below; the extraction may fail first
  try {
    await extractLayer(hasher, root, opts);
  } catch (err) {
    hasher.destroy();
    await feeding.catch(() => {});
    throw err;
  }
  try {
    await feeding;
  } catch (err) {
    if (err instanceof LadingError) throw err;
    throw new LadingError("INVALID_IMAGE", `layer ${layer.descriptor.digest}: cannot decompress it as ${kind}: ${(err as Error)?.message}`, { cause: err });
  }
  const got = hasher.digest();
  if (got !== layer.diffId) {
    throw new LadingError("DIGEST_MISMATCH", `layer ${layer.descriptor.digest}: its uncompressed content hashes to ${got}, but the image says its diffId is ${layer.diffId}`);
  }
}

interface DeferredDir {
  abs: string;
  mode: number;
  uid: number;
  gid: number;
  mtime?: Date;
  xattrs?: Record<string, Buffer>;
}

class Extractor {
  readonly root: string;
  private readonly applyWhiteouts: boolean;
  private readonly chown: boolean;
  private readonly isRoot = process.getuid?.() === 0;
  /** Resolved paths (relative to root) this layer wrote: whiteouts never remove them. */
  private readonly written = new Set<string>();
  /** Ancestors of written paths: an opaque directory keeps them (they hold this layer's entries). */
  private readonly writtenAncestors = new Set<string>();
  /** Directory metadata, applied at the end: modes so that read-only dirs can still be filled, mtimes after their contents. */
  private readonly dirs = new Map<string, DeferredDir>();
  /**
   * Parent paths already resolved (as written in the tar → resolved inside
   * root). Valid while nothing is removed or replaced: every removal clears it.
   */
  private readonly resolved = new Map<string, string>();
  /** Directories made writable to extract into them (not root): modes to put back. */
  private readonly restoreModes = new Map<string, number>();

  constructor(
    root: string,
    private readonly opts: ExtractOptions,
  ) {
    this.root = join(root, ".").replace(/\/$/, "") || "/";
    this.applyWhiteouts = opts.applyWhiteouts ?? true;
    this.chown = opts.chown ?? this.isRoot;
  }

  async entry(h: TarHeader, body: Readable): Promise<void> {
    const name = h.name;
    if (name === "") return this.rootEntry(h);
    const slash = name.lastIndexOf("/");
    const base = name.slice(slash + 1);
    const parents = slash < 0 ? [] : name.slice(0, slash).split("/");
    if (this.applyWhiteouts && parents.some((c) => c.startsWith(WHITEOUT_PREFIX))) return;
    if (this.applyWhiteouts && base.startsWith(WHITEOUT_PREFIX)) {
      // The type does not matter (moby and containerd agree): a ".wh..wh..opq" directory is an opaque marker too.
      const parentRel = await this.resolveExistingParent(name, parents);
      if (parentRel === undefined) return;
      if (base === OPAQUE_WHITEOUT) await this.makeOpaque(parentRel);
      else await this.whiteout(parentRel, base.slice(WHITEOUT_PREFIX.length), name);
      return;
    }
    const parentRel = await this.resolveParent(name, parents);
    const rel = parentRel ? `${parentRel}/${base}` : base;
    const abs = join(this.root, rel);

    this.markWritten(rel);
    const existing = await lstatOrUndefined(abs);
    if (h.type === "directory") {
      if (existing && !existing.isDirectory()) {
        await rm(abs, { force: true });
        this.resolved.clear();
      }
      if (!existing || !existing.isDirectory()) await mkdir(abs, { mode: 0o700 });
      this.dirs.set(rel, { abs, mode: (h.mode ?? 0o755) & 0o7777, uid: h.uid ?? 0, gid: h.gid ?? 0, mtime: h.mtime, xattrs: h.xattrs });
      return;
    }
    // Anything already there is replaced, never written through.
    if (existing) {
      await rm(abs, { recursive: existing.isDirectory(), force: true });
      this.forgetBelow(rel);
      this.resolved.clear();
    }

    switch (h.type) {
      case "file":
      case "contiguous-file":
        await this.writeFile(abs, body, name);
        break;
      case "symlink":
        await symlink(h.linkname ?? "", abs);
        break;
      case "link":
        await this.hardlink(abs, h.linkname ?? "", name);
        return; // a hardlink shares its target's inode and metadata
      case "character-device":
      case "block-device":
      case "fifo":
        if (!(await this.makeNode(abs, h, name))) return;
        break;
      default:
        // Unknown types (GNU sparse, volume labels…) carry nothing a root filesystem needs.
        return;
    }
    await this.applyMeta(abs, h, h.type === "symlink");
  }

  async finish(): Promise<void> {
    // Deepest first, so a parent's mtime is set after its children change it.
    const dirs = [...this.dirs.values()].sort((a, b) => b.abs.length - a.abs.length);
    for (const d of dirs) {
      this.restoreModes.delete(d.abs);
      if (!(await isRealDirectory(d.abs))) continue;
      await this.applyMeta(d.abs, { mode: d.mode, uid: d.uid, gid: d.gid, mtime: d.mtime, xattrs: d.xattrs } as TarHeader, false);
    }
    for (const [abs, mode] of this.restoreModes) if (await isRealDirectory(abs)) await chmod(abs, mode).catch(() => {});
  }

  private async rootEntry(h: TarHeader): Promise<void> {
    if (h.type === "directory") this.dirs.set("", { abs: this.root, mode: (h.mode ?? 0o755) & 0o7777, uid: h.uid ?? 0, gid: h.gid ?? 0, mtime: h.mtime, xattrs: h.xattrs });
  }

  /**
   * Resolves the parent directories of `name` inside root, component by
   * component: missing ones are created, symlinks are followed with root as
   * "/" (".." stops at root). Returns the resolved path relative to root.
   */
  private async resolveParent(name: string, components: string[]): Promise<string> {
    const key = components.join("/");
    const hit = this.resolved.get(key);
    if (hit !== undefined) return hit;
    const out = await this.resolveParentUncached(name, components);
    this.resolved.set(key, out);
    return out;
  }

  /** Like resolveParent, but creates nothing: undefined when a directory on the way is missing. */
  private async resolveExistingParent(name: string, components: string[]): Promise<string | undefined> {
    return this.resolved.get(components.join("/")) ?? this.resolveParentUncached(name, components, false);
  }

  private async resolveParentUncached(name: string, components: string[]): Promise<string>;
  private async resolveParentUncached(name: string, components: string[], create: false): Promise<string | undefined>;
  private async resolveParentUncached(name: string, components: string[], create = true): Promise<string | undefined> {
    const stack: string[] = [];
    const pending = components.slice();
    let links = 0;
    while (pending.length > 0) {
      const c = pending.shift()!;
      if (c === "" || c === ".") continue;
      if (c === "..") {
        stack.pop();
        continue;
      }
      const abs = join(this.root, ...stack, c);
      const st = await lstatOrUndefined(abs);
      if (!st) {
        if (!create) return undefined;
        await mkdir(abs, { mode: 0o700 });
        // Explicitly, not through the umask: a parent a layer leaves implicit is 0755 whoever unpacks it.
        await chmod(abs, 0o755);
        stack.push(c);
        continue;
      }
      if (st.isSymbolicLink()) {
        if (++links > MAX_SYMLINKS) throw new LadingError("UNSAFE_ARCHIVE", `tar entry ${JSON.stringify(name)}: too many symlinks in its parent path`);
        const target = await readlink(abs);
        if (target.startsWith("/")) stack.length = 0;
        pending.unshift(...target.split("/"));
        continue;
      }
      if (!st.isDirectory()) {
        throw new LadingError("INVALID_IMAGE", `tar entry ${JSON.stringify(name)}: its parent ${JSON.stringify([...stack, c].join("/"))} is not a directory`);
      }
      if (!this.isRoot && (st.mode & 0o300) !== 0o300 && !this.restoreModes.has(abs)) {
        // An ordinary user cannot create entries in a read-only directory a lower layer made.
        this.restoreModes.set(abs, st.mode & 0o7777);
        await chmod(abs, (st.mode & 0o7777) | 0o700);
      }
      stack.push(c);
    }
    return stack.join("/");
  }

  private markWritten(rel: string): void {
    this.written.add(rel);
    for (let i = rel.lastIndexOf("/"); i > 0; i = rel.lastIndexOf("/", i - 1)) this.writtenAncestors.add(rel.slice(0, i));
  }

  private async whiteout(parentRel: string, victim: string, name: string): Promise<void> {
    if (victim === "" || victim === "." || victim === "..") throw new LadingError("UNSAFE_ARCHIVE", `tar entry ${JSON.stringify(name)}: a whiteout for ${JSON.stringify(victim)} is not allowed`);
    const rel = parentRel ? `${parentRel}/${victim}` : victim;
    // A whiteout hides lower layers only, never this layer's own entry of that name.
    if (this.written.has(rel)) return;
    await rm(join(this.root, rel), { recursive: true, force: true });
    this.forgetBelow(rel);
  }

  /** Drops deferred directory metadata and cached resolutions for a removed subtree. */
  private forgetBelow(rel: string): void {
    this.resolved.clear();
    for (const k of this.dirs.keys()) if (k === rel || k.startsWith(rel + "/")) this.dirs.delete(k);
    // A mode to put back on a removed directory would land on whatever takes its name (a symlink's target, say).
    const abs = join(this.root, rel);
    for (const k of this.restoreModes.keys()) if (k === abs || k.startsWith(abs + "/")) this.restoreModes.delete(k);
  }

  /** Removes what lower layers put in `dirRel`, keeping this layer's own entries. */
  private async makeOpaque(dirRel: string): Promise<void> {
    const abs = dirRel ? join(this.root, dirRel) : this.root;
    for (const child of await readdir(abs)) {
      const rel = dirRel ? `${dirRel}/${child}` : child;
      if (this.written.has(rel) || this.writtenAncestors.has(rel)) {
        const st = await lstat(join(this.root, rel));
        if (st.isDirectory()) await this.makeOpaque(rel);
        continue;
      }
      await rm(join(this.root, rel), { recursive: true, force: true });
      this.forgetBelow(rel);
    }
  }

  private async writeFile(abs: string, body: Readable, name: string): Promise<void> {
    const fh = await open(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      for await (const chunk of body) {
        if (this.opts.signal?.aborted) throw new LadingError("CANCELLED", `extracting ${JSON.stringify(name)}: cancelled`);
        await fh.write(chunk as Buffer);
      }
    } finally {
      await fh.close();
    }
  }

  private async hardlink(abs: string, linkname: string, name: string): Promise<void> {
    if (linkname === "") throw new LadingError("UNSAFE_ARCHIVE", `tar entry ${JSON.stringify(name)}: a hardlink without a target`);
    const slash = linkname.lastIndexOf("/");
    const parent = await this.resolveParent(name, slash < 0 ? [] : linkname.slice(0, slash).split("/"));
    const target = join(this.root, parent, linkname.slice(slash + 1));
    const st = await lstatOrUndefined(target);
    if (!st) throw new LadingError("UNSAFE_ARCHIVE", `tar entry ${JSON.stringify(name)}: hardlink target ${JSON.stringify(linkname)} does not exist in the extraction root`);
    if (st.isDirectory()) throw new LadingError("UNSAFE_ARCHIVE", `tar entry ${JSON.stringify(name)}: hardlink target ${JSON.stringify(linkname)} is a directory`);
    // link(2) does not follow a symlink target: the new name is the symlink itself, still inside root.
    await link(target, abs);
  }

  /** Creates a device node or fifo; false when it was skipped. */
  private async makeNode(abs: string, h: TarHeader, name: string): Promise<boolean> {
    const isDevice = h.type !== "fifo";
    if (isDevice && !this.isRoot) return this.cannotMakeDevice(name, "lading is not running as root");
    const args = isDevice ? [abs, h.type === "block-device" ? "b" : "c", String(h.devmajor ?? 0), String(h.devminor ?? 0)] : [abs, "p"];
    try {
      await execFileP("mknod", ["-m", "0600", ...args]);
      return true;
    } catch (err) {
      const stderr = String((err as { stderr?: string }).stderr ?? "");
      if (isDevice && /not permitted/i.test(stderr)) return this.cannotMakeDevice(name, "mknod is not permitted here (a user namespace?)");
      throw new LadingError("INTERNAL", `extracting ${JSON.stringify(name)}: mknod failed: ${stderr.trim() || (err as Error).message}`, { cause: err });
    }
  }

  private cannotMakeDevice(name: string, why: string): false {
    if (this.opts.devices === "error") {
      throw new LadingError("UNSAFE_ARCHIVE", `tar entry ${JSON.stringify(name)} is a device node and ${why}; pass devices: "skip" to leave device nodes out`);
    }
    return false;
  }

  /** Owner first (chown clears setuid/setgid), then mode, xattrs, times. Symlinks: owner, xattrs and times only. */
  private async applyMeta(abs: string, h: TarHeader, isSymlink: boolean): Promise<void> {
    if (this.chown) await lchown(abs, h.uid ?? 0, h.gid ?? 0);
    if (!isSymlink) await chmod(abs, (h.mode ?? 0o644) & 0o7777);
    if (h.xattrs) await this.setXattrs(abs, h.xattrs);
    if (h.mtime) await lutimes(abs, h.mtime, h.mtime);
  }

  /**
   * SCHILY.xattr.* records (as exact bytes, see TarHeader.xattrs), set with
   * setfattr (Node has no xattr API; the `attr` package provides it); the
   * value goes as hex, so binary values arrive unchanged. security.* and
   * trusted.* need privileges an ordinary user lacks; those refusals are
   * ignored, as are filesystems without xattr support.
   */
  private async setXattrs(abs: string, xattrs: Record<string, Buffer>): Promise<void> {
    for (const [attr, value] of Object.entries(xattrs)) {
      try {
        await execFileP("setfattr", ["-h", "-n", attr, "-v", "0x" + value.toString("hex"), abs]);
      } catch (err) {
        const e = err as NodeJS.ErrnoException & { stderr?: string };
        if (e.code === "ENOENT") {
          throw new LadingError("UNSUPPORTED", `extracting ${abs}: the layer sets extended attribute ${attr}, which needs the setfattr program (install the "attr" package)`, { cause: err });
        }
        const stderr = String(e.stderr ?? "");
        const ignorable = /not supported|not permitted|permission denied/i.test(stderr) && (!this.isRoot || /not supported/i.test(stderr) || /^(security|trusted)\./.test(attr));
        if (!ignorable) throw new LadingError("INTERNAL", `extracting ${abs}: setting extended attribute ${attr} failed: ${stderr.trim() || e.message}`, { cause: err });
      }
    }
  }
}

/** Whether `p` itself (not a symlink's target) is a directory. */
async function isRealDirectory(p: string): Promise<boolean> {
  return (await lstatOrUndefined(p))?.isDirectory() ?? false;
}

async function lstatOrUndefined(p: string) {
  try {
    return await lstat(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
