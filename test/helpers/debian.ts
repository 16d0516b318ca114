/**
 * A realistic root filesystem for tests: Debian bookworm minbase, made once
 * with `debootstrap --variant=minbase` from the machine's Debian mirror and
 * cached in the clone's .cache/debootstrap (gitignored), so a fresh clone
 * makes its own. Made only as root with LADING_TEST_DEBIAN=1 or CI=true (a
 * few minutes); otherwise the tests that need it skip. It is built in a
 * directory of its own and renamed into place whole, so a run killed
 * half-way leaves nothing that a later run would trust; a lock beside it
 * makes test files that start together wait for one debootstrap instead
 * of running one each. Packages to install in it come the same way: `apt-get
 * download` on the host (containers have no internet), cached beside it,
 * from one bookworm index that apt updates once and keeps in .cache/apt-bookworm
 * (updated again only when a download from it fails: a point release moved on).
 */
import { execFileSync } from "node:child_process";
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { pidAlive } from "../../src/fsutil/pid-alive.js";
import { Store } from "../../src/store/store.js";
import { MediaType } from "../../src/oci/mediatypes.js";
import { REPO_ROOT } from "./shared.js";
import { hostArch, tagOneLayerImage, type TestImage } from "./images.js";

export const DEBIAN_CACHE = join(REPO_ROOT, ".cache", "debootstrap");
export const DEBIAN_TARBALL = join(DEBIAN_CACHE, "bookworm-minbase.tar");
const MIRROR = "http://deb.debian.org/debian";
const BUILDING = "building-";
/** bookworm's package index for `apt-get download`, shared by every file of a run (and kept for the next). */
const APT_DIR = join(REPO_ROOT, ".cache", "apt-bookworm");

/** Whether the process that named a build directory is gone (its leftovers can go). */
function abandoned(dir: string): boolean {
  return !pidAlive(Number(dir.slice(BUILDING.length).split("-")[0]));
}

/** Whether this run may make what is missing: as root, when asked to. */
function mayMake(): boolean {
  return (process.env.LADING_TEST_DEBIAN === "1" || process.env.CI === "true") && process.getuid!() === 0;
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Runs `fn` holding the lock file `lock` (its holder's pid inside): test files
 * run side by side, and two that need the same missing thing would otherwise
 * both spend minutes making it. A lock whose holder died is taken over. Sync,
 * as the callers are (they decide at load time whether their tests skip).
 */
function locked<T>(lock: string, fn: () => T): T {
  for (;;) {
    try {
      const fd = openSync(lock, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      let holder = NaN;
      try {
        holder = Number(readFileSync(lock, "utf8"));
      } catch {
        continue; // released meanwhile
      }
      // A holder that died leaves the lock to take; so does one killed before it wrote its pid (the file stays empty).
      const dead = holder > 0 ? !pidAlive(holder) : Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 10_000;
      if (dead) rmSync(lock, { force: true });
      else Atomics.wait(pause, 0, 0, 500);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

/** Makes `final` in DEBIAN_CACHE with `make(workDir) → file`, renamed into place whole, under a lock. */
function cached(final: string, make: (work: string) => string): boolean {
  if (existsSync(final)) return true;
  if (!mayMake()) return false;
  mkdirSync(DEBIAN_CACHE, { recursive: true });
  return locked(`${final}.lock`, () => {
    if (existsSync(final)) return true; // made by the process that held the lock
    for (const d of readdirSync(DEBIAN_CACHE)) if (d.startsWith(BUILDING) && abandoned(d)) rmSync(join(DEBIAN_CACHE, d), { recursive: true, force: true });
    const work = mkdtempSync(join(DEBIAN_CACHE, `${BUILDING}${process.pid}-`));
    try {
      renameSync(make(work), final);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    return true;
  });
}

/** The cached rootfs tarball, made when missing and allowed; false when there is none. */
export function ensureDebianTarball(): boolean {
  return cached(DEBIAN_TARBALL, (work) => {
    const root = join(work, "root");
    execFileSync("debootstrap", ["--variant=minbase", "bookworm", root, MIRROR], { stdio: "ignore" });
    execFileSync("tar", ["--numeric-owner", "--xattrs", "-C", root, "-cf", join(work, "rootfs.tar"), "."]);
    return join(work, "rootfs.tar");
  });
}

/** apt's options for an apt of its own, on bookworm's index whatever the host's release: the packages must fit the tarball's libraries. */
function aptOptions(work: string): string[] {
  return ["-o", `Dir::Etc::SourceList=${join(APT_DIR, "sources.list")}`, "-o", "Dir::Etc::SourceParts=-", "-o", `Dir::State::Lists=${join(APT_DIR, "lists")}`, "-o", `Dir::Cache=${join(work, "cache")}`, "-o", "APT::Sandbox::User=root"];
}

/** Fetches bookworm's index into APT_DIR (the caller holds APT_DIR's lock). */
function aptUpdate(work: string): void {
  rmSync(join(APT_DIR, "lists"), { recursive: true, force: true });
  mkdirSync(join(APT_DIR, "lists", "partial"), { recursive: true });
  execFileSync("sh", ["-c", `echo "deb ${MIRROR} bookworm main" > "$1"`, "sh", join(APT_DIR, "sources.list")]);
  execFileSync("apt-get", [...aptOptions(work), "update"], { stdio: "ignore" });
  execFileSync("touch", [join(APT_DIR, "updated")]);
}

/**
 * The cached .debs of bookworm's `pkgs` for this machine's architecture
 * (`apt-get download` from bookworm's index, whatever the host's own
 * release), in the order asked, or undefined when one is missing and may not
 * be made. The missing ones are fetched together, under one lock.
 */
export function ensureDebianPackages(pkgs: readonly string[]): string[] | undefined {
  const final = (pkg: string) => join(DEBIAN_CACHE, `${pkg}-bookworm.deb`);
  const missing = () => pkgs.filter((p) => !existsSync(final(p)));
  if (missing().length === 0) return pkgs.map(final);
  if (!mayMake()) return undefined;
  mkdirSync(APT_DIR, { recursive: true });
  mkdirSync(DEBIAN_CACHE, { recursive: true });
  locked(join(APT_DIR, "lock"), () => {
    const want = missing(); // another process may have fetched some while this one waited
    if (want.length === 0) return;
    const work = mkdtempSync(join(DEBIAN_CACHE, `${BUILDING}${process.pid}-`));
    try {
      mkdirSync(join(work, "cache", "archives", "partial"), { recursive: true });
      const download = () => execFileSync("apt-get", [...aptOptions(work), "download", ...want], { cwd: work, stdio: "ignore" });
      let fresh = false;
      if (!existsSync(join(APT_DIR, "updated"))) {
        aptUpdate(work);
        fresh = true;
      }
      try {
        download();
      } catch (err) {
        // An index kept from an earlier run names versions the mirror may have dropped since: update once and retry.
        if (fresh) throw err;
        aptUpdate(work);
        download();
      }
      for (const pkg of want) {
        const deb = readdirSync(work).find((n) => n.startsWith(`${pkg}_`) && n.endsWith(".deb"));
        if (!deb) throw new Error(`apt-get download ${pkg} left no .deb in ${work}`);
        renameSync(join(work, deb), final(pkg));
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
  return pkgs.map(final);
}

/** Puts the tarball, as one uncompressed layer, into an OCI layout at `dir`. */
export async function debianLayout(dir: string, tag = "bookworm"): Promise<TestImage> {
  const store = await Store.open(dir);
  const tmp = store.tempPath("debian");
  copyFileSync(DEBIAN_TARBALL, tmp);
  const layer = await store.putFile(tmp);
  return tagOneLayerImage(store, dir, tag, { mediaType: MediaType.ociLayer, digest: layer.digest, size: layer.size }, layer.digest, hostArch(), {
    config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["bash"] },
    createdBy: "debootstrap --variant=minbase bookworm",
  });
}
