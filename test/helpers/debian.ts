/**
 * A realistic root filesystem for tests: Debian bookworm minbase, made once
 * with `debootstrap --variant=minbase` from the machine's Debian mirror and
 * cached in the clone's .cache/debootstrap (gitignored), so a fresh clone
 * makes its own. Made only as root with LADING_TEST_DEBIAN=1 or CI=true (a
 * few minutes); otherwise the tests that need it skip. It is built in a
 * directory of its own and renamed into place whole, so a run killed
 * half-way leaves nothing that a later run would trust. Packages to install
 * in it come the same way: `apt-get download` on the host (containers have
 * no internet), cached beside it.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Store } from "../../src/store/store.js";
import { MediaType } from "../../src/oci/mediatypes.js";
import { REPO_ROOT } from "./shared.js";
import { hostArch, tagOneLayerImage, type TestImage } from "./images.js";

export const DEBIAN_CACHE = join(REPO_ROOT, ".cache", "debootstrap");
export const DEBIAN_TARBALL = join(DEBIAN_CACHE, "bookworm-minbase.tar");
const MIRROR = "http://deb.debian.org/debian";
const BUILDING = "building-";

/** Whether the process that named a build directory is gone (its leftovers can go). */
function abandoned(dir: string): boolean {
  const pid = Number(dir.slice(BUILDING.length).split("-")[0]);
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

/** Whether this run may make what is missing: as root, when asked to. */
function mayMake(): boolean {
  return (process.env.LADING_TEST_DEBIAN === "1" || process.env.CI === "true") && process.getuid!() === 0;
}

/** Makes `final` in DEBIAN_CACHE with `make(workDir) → file`, renamed into place whole. */
function cached(final: string, make: (work: string) => string): boolean {
  if (existsSync(final)) return true;
  if (!mayMake()) return false;
  mkdirSync(DEBIAN_CACHE, { recursive: true });
  for (const d of readdirSync(DEBIAN_CACHE)) if (d.startsWith(BUILDING) && abandoned(d)) rmSync(join(DEBIAN_CACHE, d), { recursive: true, force: true });
  const work = mkdtempSync(join(DEBIAN_CACHE, `${BUILDING}${process.pid}-`));
  try {
    renameSync(make(work), final);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return true;
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

/**
 * The cached .deb of bookworm's `pkg` for this machine's architecture
 * (`apt-get download` from bookworm's index, whatever the host's own
 * release), or undefined when there is none and it may not be made.
 */
export function ensureDebianPackage(pkg: string): string | undefined {
  const final = join(DEBIAN_CACHE, `${pkg}-bookworm.deb`);
  const ok = cached(final, (work) => {
    // An apt of its own, on bookworm's index: the package must fit the tarball's libraries.
    const apt = ["-o", `Dir::Etc::SourceList=${join(work, "sources.list")}`, "-o", "Dir::Etc::SourceParts=-", "-o", `Dir::State::Lists=${join(work, "lists")}`, "-o", `Dir::Cache=${join(work, "cache")}`, "-o", "APT::Sandbox::User=root"];
    mkdirSync(join(work, "lists", "partial"), { recursive: true });
    mkdirSync(join(work, "cache", "archives", "partial"), { recursive: true });
    execFileSync("sh", ["-c", `echo "deb ${MIRROR} bookworm main" > "$1"`, "sh", join(work, "sources.list")]);
    execFileSync("apt-get", [...apt, "update"], { stdio: "ignore" });
    execFileSync("apt-get", [...apt, "download", pkg], { cwd: work, stdio: "ignore" });
    const deb = readdirSync(work).find((n) => n.startsWith(`${pkg}_`) && n.endsWith(".deb"));
    if (!deb) throw new Error(`apt-get download ${pkg} left no .deb in ${work}`);
    return join(work, deb);
  });
  return ok ? final : undefined;
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
