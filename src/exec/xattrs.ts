/**
 * Extended attributes of many files at once, for the layer diff. Node has
 * no xattr API, so getfattr (package `attr`, as extract.ts uses setfattr)
 * reads them: one process for a whole tree (-R) or a list of paths
 * (batched so the argument list stays far below ARG_MAX), never one per
 * file. Its output is parsed byte for byte: values come base64-encoded
 * (`-e base64`, so binary values such as security.capability are exact),
 * paths and names with octal escapes for control bytes and "\".
 *
 * Which attributes belong in a layer (the file's own, portable ones):
 * - overlayfs's own bookkeeping is dropped: `trusted.overlay.*` (as root)
 *   and `user.overlay.*` (under `userxattr` in a user namespace), which
 *   the upper dir holds (opaque markers, origins) but no file ever set.
 * - `security.selinux` is dropped, as docker (moby's archive carries only
 *   security.capability) and buildkit/containerd do: a label belongs to the
 *   host's policy and the runtime labels a container's files itself; a
 *   label copied from the build host would be wrong on the next one.
 * - Everything else is carried: user.*, security.capability (file
 *   capabilities: `setcap` in a RUN must survive), other trusted.* and
 *   security.*, system.posix_acl_* (ACLs).
 */
import { spawn } from "node:child_process";

export type Xattrs = Record<string, Buffer>;

/** Absolute path → its carried attributes; paths without any are absent. */
export type XattrMap = Map<string, Xattrs>;

/** Whether an attribute is carried into a layer (see above). */
export function carriedXattr(name: string): boolean {
  return name !== "security.selinux" && !name.startsWith("trusted.overlay.") && !name.startsWith("user.overlay.");
}

/** Per getfattr process: under the kernel's ARG_MAX (2 MiB with the usual 8 MiB stack, environment included); ~15,000 paths. */
const BATCH_BYTES = 1024 * 1024;

/**
 * The carried attributes of `paths` (absolute), or of everything below
 * them with `recursive` (symlinks are not followed; a symlink's own
 * attributes are read). Returns undefined when they cannot be read at all
 * (no getfattr); files that vanished or a filesystem without xattr support
 * simply give none. `note` hears why attributes were left out.
 */
export async function readXattrs(paths: readonly string[], opts: { recursive?: boolean; note?: (msg: string) => void } = {}): Promise<XattrMap | undefined> {
  const out: XattrMap = new Map();
  const base = ["--absolute-names", "-h", "-d", "-m", "-", "-e", "base64", ...(opts.recursive ? ["-R", "-P"] : [])];
  for (let i = 0; i < paths.length; ) {
    const batch: string[] = [];
    let bytes = 0;
    // Each argument costs its bytes, a NUL and a pointer.
    const cost = (p: string) => Buffer.byteLength(p) + 9;
    while (i < paths.length && (batch.length === 0 || bytes + cost(paths[i]) < BATCH_BYTES)) {
      bytes += cost(paths[i]);
      batch.push(paths[i++]);
    }
    const r = await getfattr([...base, ...batch]);
    if (!r) {
      opts.note?.("xattrs: getfattr is not installed (package attr); the layer carries no extended attributes");
      return undefined;
    }
    parseGetfattr(r.stdout, out);
    // Exit 1 with messages for files that vanished or cannot be asked (ENOTSUP, EACCES): they carry none.
    const complaint = r.stderr.split("\n").find((l) => l && !l.includes("Removing leading"));
    if (complaint) opts.note?.(`xattrs: ${complaint.trim()} (such files carry no extended attributes)`);
  }
  return out;
}

function getfattr(args: string[]): Promise<{ stdout: Buffer; stderr: string } | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn("getfattr", args, { stdio: ["ignore", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.stderr.on("data", (c: Buffer) => {
      if (stderr.length < 4096) stderr += c.toString();
    });
    child.on("error", (err: NodeJS.ErrnoException) => (err.code === "ENOENT" ? resolve(undefined) : reject(err)));
    child.on("close", () => resolve({ stdout: Buffer.concat(chunks), stderr }));
  });
}

/**
 * getfattr -d output: "# file: PATH", then "name=0sBASE64" lines, then a
 * blank line. PATH and names escape control bytes and "\" as \ooo.
 */
export function parseGetfattr(text: Buffer, into: XattrMap): void {
  let current: Xattrs | undefined;
  for (let at = 0; at < text.length; ) {
    let nl = text.indexOf(0x0a, at);
    if (nl < 0) nl = text.length;
    const line = text.subarray(at, nl);
    at = nl + 1;
    if (line.length === 0) {
      current = undefined;
      continue;
    }
    if (line.subarray(0, 8).toString("latin1") === "# file: ") {
      const path = unescape(line.subarray(8));
      current = {};
      into.set(path, current);
      continue;
    }
    if (!current) continue;
    const eq = line.indexOf(0x3d);
    if (eq <= 0) continue;
    const name = unescape(line.subarray(0, eq));
    const value = line.subarray(eq + 1).toString("latin1");
    if (!carriedXattr(name)) continue;
    // -e base64 writes "0s…"; an empty value comes as "0s" or "".
    current[name] = value.startsWith("0s") ? Buffer.from(value.slice(2), "base64") : value === '""' || value === "" ? Buffer.alloc(0) : Buffer.from(value, "latin1");
  }
  for (const [k, v] of into) if (Object.keys(v).length === 0) into.delete(k);
}

function unescape(b: Buffer): string {
  if (!b.includes(0x5c)) return b.toString("utf8");
  const out: number[] = [];
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 0x5c && i + 3 < b.length && /^[0-7]{3}$/.test(b.toString("latin1", i + 1, i + 4))) {
      out.push(parseInt(b.toString("latin1", i + 1, i + 4), 8));
      i += 3;
    } else out.push(b[i]);
  }
  return Buffer.from(out).toString("utf8");
}

/** Whether two attribute sets (absent = none) hold the same names and bytes. */
export function sameXattrs(a: Xattrs | undefined, b: Xattrs | undefined): boolean {
  const ka = Object.keys(a ?? {});
  const kb = Object.keys(b ?? {});
  if (ka.length !== kb.length) return false;
  return ka.every((k) => b![k] !== undefined && a![k].equals(b![k]));
}
