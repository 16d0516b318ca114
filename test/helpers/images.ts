/**
 * Test base images made locally (no network): a busybox-static image as an
 * OCI layout. Built with tar-stream directly, independent of lading's own
 * layer writer, so tests of the writer are not judged by itself.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { createGzip } from "node:zlib";
import { Readable } from "node:stream";
import tar from "tar-stream";
import { Store } from "../../src/store/store.js";
import { HashingStream, type Digest } from "../../src/oci/digest.js";
import { MediaType } from "../../src/oci/mediatypes.js";

const BUSYBOX = "/bin/busybox";

export interface TestImage {
  dir: string;
  tag: string;
  /** `oci:<dir>:<tag>` */
  ref: string;
  manifestDigest: Digest;
}

/**
 * Writes a busybox image (sh and every applet, /etc/passwd with root, app(1000), nobody) into an OCI layout at `dir`.
 * `binary`: another busybox-static (one of another architecture, say); its applet links are the host's busybox's.
 */
export async function makeBusyboxLayout(dir: string, tag = "latest", arch = hostArch(), binary = BUSYBOX): Promise<TestImage> {
  const store = await Store.open(dir);
  const applets = execFileSync(BUSYBOX, ["--list-full"], { encoding: "utf8" }).split("\n").filter(Boolean);
  const pack = tar.pack();
  const dirs = ["bin", "etc", "root", "sbin", "tmp", "usr", "usr/bin", "usr/sbin", "home", "home/app", "var"];
  const entries: Array<[string, () => void]> = [];
  const h = { uid: 0, gid: 0, mtime: new Date(0) };
  for (const d of dirs) {
    const mode = d === "tmp" ? 0o1777 : d === "root" ? 0o700 : 0o755;
    const owner = d === "home/app" ? { uid: 1000, gid: 1000 } : {};
    entries.push([d + "/", () => pack.entry({ ...h, ...owner, name: d + "/", type: "directory", mode })]);
  }
  const bb = readFileSync(binary);
  entries.push(["bin/busybox", () => pack.entry({ ...h, name: "bin/busybox", mode: statSync(binary).mode & 0o7777, size: bb.length }, bb)]);
  for (const a of applets) {
    if (a === "bin/busybox" || !a.includes("/")) continue;
    // Relative to the link's own folder: bin/sh → busybox, sbin/ip → ../bin/busybox, usr/bin/wget → ../../bin/busybox.
    const depth = a.split("/").length - 1;
    const target = a.startsWith("bin/") ? "busybox" : "../".repeat(depth) + "bin/busybox";
    entries.push([a, () => pack.entry({ ...h, name: a, type: "symlink", linkname: target, mode: 0o777 })]);
  }
  const files: Record<string, string> = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    "etc/group": "root:x:0:\napp:x:1000:\nshadow:x:42:\nnogroup:x:65534:\n",
  };
  for (const [name, text] of Object.entries(files)) {
    entries.push([name, () => pack.entry({ ...h, name, mode: 0o644 }, text)]);
  }
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (const [, write] of entries) write();
  pack.finalize();

  const diff = new HashingStream();
  const layer = await store.putBlob(Readable.from(pack).pipe(diff).pipe(createGzip({ level: 6 })));
  return tagOneLayerImage(store, dir, tag, { mediaType: MediaType.ociLayerGzip, digest: layer.digest, size: layer.size }, diff.digest(), arch, {
    config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"] },
    createdBy: "busybox test image",
  });
}

/** Writes the config and manifest of a one-layer image into the layout `store` at `dir` and tags it. */
export async function tagOneLayerImage(
  store: Store,
  dir: string,
  tag: string,
  layer: { mediaType: string; digest: Digest; size: number },
  diffId: Digest,
  arch: string,
  opts: { config: Record<string, unknown>; createdBy: string },
): Promise<TestImage> {
  const config = {
    architecture: arch,
    os: "linux",
    created: "1970-01-01T00:00:00Z",
    config: opts.config,
    rootfs: { type: "layers", diff_ids: [diffId] },
    history: [{ created: "1970-01-01T00:00:00Z", created_by: opts.createdBy }],
  };
  const cfg = await store.putJson(config);
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: cfg.digest, size: cfg.size },
    layers: [layer],
  };
  const m = await store.putJson(manifest);
  await store.tag(tag, {
    mediaType: MediaType.ociManifest,
    digest: m.digest,
    size: m.size,
    platform: { architecture: arch, os: "linux" },
  });
  return { dir, tag, ref: `oci:${dir}:${tag}`, manifestDigest: m.digest };
}

export function hostArch(): string {
  const map: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };
  return map[process.arch] ?? process.arch;
}
