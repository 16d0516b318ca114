/**
 * A two-platform base image made by the tests, with no registry: busybox-static
 * for this machine (the host's /bin/busybox) and for the other of amd64/arm64,
 * whose Debian package scripts/setup.sh downloads into the clone's
 * .cache/debs (gitignored), since tests use no network but loopback. Both go
 * into one OCI layout under one tag: an image index with a manifest per platform.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Store } from "../../src/store/store.js";
import { MediaType } from "../../src/oci/mediatypes.js";
import { REPO_ROOT } from "./shared.js";
import { hostArch, makeBusyboxLayout } from "./images.js";

export const DEBS_CACHE = join(REPO_ROOT, ".cache", "debs");

/** The architecture the two-platform base has beside the host's. */
export function foreignArch(): "amd64" | "arm64" {
  return hostArch() === "arm64" ? "amd64" : "arm64";
}

/** The cached busybox-static .deb of `arch`, or why there is none. */
export function busyboxDeb(arch = foreignArch()): { path: string } | { missing: string } {
  const name = existsSync(DEBS_CACHE) ? readdirSync(DEBS_CACHE).find((n) => n.startsWith("busybox-static_") && n.endsWith(`_${arch}.deb`)) : undefined;
  if (name) return { path: join(DEBS_CACHE, name) };
  return { missing: `no busybox-static .deb for ${arch} in ${DEBS_CACHE}: run scripts/setup.sh as root (it downloads it)` };
}

/**
 * Writes busybox images for the host and the foreign architecture into the layout `dir`,
 * and an index over both tagged `tag`. Returns `oci:<dir>:<tag>`.
 */
export async function makeTwoPlatformLayout(dir: string, deb: string, tag = "multi"): Promise<string> {
  const unpacked = mkdtempSync(join(dir + "-deb"));
  try {
    execFileSync("dpkg-deb", ["-x", deb, unpacked]);
    const host = await makeBusyboxLayout(dir, `${tag}-${hostArch()}`);
    const foreign = await makeBusyboxLayout(dir, `${tag}-${foreignArch()}`, foreignArch(), join(unpacked, "bin", "busybox"));
    const store = await Store.open(dir);
    const manifests = [];
    for (const [img, arch] of [[host, hostArch()], [foreign, foreignArch()]] as const) {
      const d = (await store.resolveName(img.tag))!;
      manifests.push({ mediaType: MediaType.ociManifest, digest: d.digest, size: d.size, platform: { architecture: arch, os: "linux" } });
    }
    const index = await store.putJson({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests });
    await store.tag(tag, { mediaType: MediaType.ociIndex, digest: index.digest, size: index.size });
    return `oci:${dir}:${tag}`;
  } finally {
    rmSync(unpacked, { recursive: true, force: true });
  }
}
