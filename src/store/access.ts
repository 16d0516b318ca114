/**
 * Who may reach into a store (issue 21). A store holds unpacked root
 * filesystems with the images' setuid programs, cache volumes and build
 * secrets' temp files, so by default it is private to the user who owns it:
 * made 0700, and an existing one that others can write, or that another
 * user owns, is refused (as git refuses a repository of dubious ownership)
 * rather than trusted. A store shared by a group is an explicit choice
 * ($LADING_SHARED_STORE=1): then the images, blobs and op cache are
 * group-writable, and the unpacked trees, cache volumes and temp dirs still
 * stay private to the user who made them.
 *
 * In lading's user namespace (rootless exec helper) the user is uid 0 and
 * so is the store's owner as seen from there: comparing the owner with the
 * effective uid of the process holds on both sides.
 */
import { chmod, mkdir, stat } from "node:fs/promises";
import type { Stats } from "node:fs";
import { LadingError } from "../errors.js";

/**
 * Kinds of `lading/<kind>` whose entries are one user's own, even in a
 * shared store ("git": mirrors of repositories only that user's
 * credentials could read).
 */
const PRIVATE_KINDS = new Set(["snapshots", "volumes", "rootfs", "runc", "podman", "git"]);

export const PRIVATE_DIR_MODE = 0o700;
/** Group members create entries; setgid keeps new ones in the store's group. */
export const SHARED_DIR_MODE = 0o2770;

export function isPrivateKind(kind: string): boolean {
  return PRIVATE_KINDS.has(kind);
}

const euid = (): number => process.geteuid?.() ?? 0;

/**
 * Refuses a store root that another user owns or that others can write
 * (unless shared), and one that everyone can write (always: every local
 * user could plant a blob, a lock or a snapshot there).
 */
export function checkStoreRoot(root: string, st: Stats, shared: boolean): void {
  if (!st.isDirectory()) throw new LadingError("INVALID_ARGUMENT", `the store ${root} is not a directory: pass --store (or $LADING_HOME) a directory`);
  const mode = (st.mode & 0o7777).toString(8).padStart(4, "0");
  if (st.mode & 0o002) {
    throw new LadingError(
      "UNSAFE_STORE",
      `the store ${root} is writable by every user (mode ${mode}), so any of them could plant images, snapshots or locks in it: ` +
        `run \`chmod o-w ${root}\` (or \`chmod 700 ${root}\` to keep it private) and try again`,
    );
  }
  if (shared) return;
  const me = euid();
  if (st.uid !== me) {
    throw new LadingError(
      "UNSAFE_STORE",
      `the store ${root} is owned by uid ${st.uid}, not by you (uid ${me}): its owner could change what lading runs as you. ` +
        `Use a store of your own (--store or $LADING_HOME), take it over with \`chown -R ${me} ${root}\`, ` +
        `or, to share it on purpose with its group, set LADING_SHARED_STORE=1`,
    );
  }
  if (st.mode & 0o020) {
    throw new LadingError(
      "UNSAFE_STORE",
      `the store ${root} is writable by its group (mode ${mode}), whose members could change what lading runs as you: ` +
        `run \`chmod 700 ${root}\`, or, to share it on purpose with that group, set LADING_SHARED_STORE=1`,
    );
  }
}

/**
 * Makes `dir` (and missing parents) with `mode` applied past the umask, or
 * tightens an existing private dir of ours that others could reach (stores
 * made before issue 21 were 0755 all the way down).
 */
export async function ensureDir(dir: string, mode: number): Promise<void> {
  const made = await mkdir(dir, { recursive: true, mode: mode & 0o777 });
  if (made !== undefined) {
    // mkdir's mode passes through the umask; a shared dir needs its group bits and setgid.
    if (mode !== PRIVATE_DIR_MODE) await chmod(dir, mode);
    return;
  }
  if (mode !== PRIVATE_DIR_MODE) return;
  const st = await stat(dir);
  if ((st.mode & 0o077) !== 0 && st.uid === euid()) await chmod(dir, PRIVATE_DIR_MODE);
}

/** Fails clearly when a private state dir of a shared store belongs to someone else. */
export async function checkPrivateDir(dir: string): Promise<void> {
  const st = await stat(dir);
  if (st.uid !== euid()) {
    throw new LadingError(
      "UNSAFE_STORE",
      `${dir} belongs to uid ${st.uid}, not to you (uid ${euid()}): in a shared store, unpacked root filesystems, cache volumes and ` +
        `runtime state stay private to the user who made them. Run steps that need them with a store of your own (--store or $LADING_HOME)`,
    );
  }
}
