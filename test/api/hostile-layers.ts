/**
 * Hostile layers and the means to judge them: each case says what its
 * layers hold (aimed at a directory of sentinel files beside the jail) and
 * the one defined outcome, UNSAFE_ARCHIVE for names that climb with ".."
 * (containerd refuses such "breakout" entries), else where the bytes land
 * inside the root, links being followed with the root as "/" (containerd's
 * and moby's chroot semantics). Shared by the extractor and API tests
 * (malicious.test.ts) and the exec ones (test/exec/malicious-exec.test.ts).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { createGzip } from "node:zlib";
import tar from "tar-stream";
import { Store } from "../../src/store/store.js";
import { HashingStream } from "../../src/oci/digest.js";
import { MediaType } from "../../src/oci/mediatypes.js";
import { hostArch } from "../helpers/images.js";

/** What a hostile layer writes: found anywhere outside the jail, it escaped. */
export const PAYLOAD = "PAYLOAD-escaped-7c1e";

export type Entry = { name: string; type?: "file" | "symlink" | "link" | "directory"; linkname?: string; body?: string; mode?: number };
export type Seen = string | { link: string } | { dir: true } | null;
export type Outcome = { error: "UNSAFE_ARCHIVE" } | { root: Record<string, Seen> };

/**
 * Where the layers point. `outside` is the absolute host path of a directory
 * beside the jail holding `victim`; `up` is the relative path from the
 * extraction root to the directory holding `outside` (so that a relative
 * link that escaped would reach it).
 */
export interface Aim {
  outside: string;
  up: string;
}

export interface HostileCase {
  name: string;
  layers(a: Aim): Entry[][];
  expect(a: Aim): Outcome;
}

const P = PAYLOAD;
export const cases: HostileCase[] = [
  { name: "a .. name", layers: () => [[{ name: "ok.txt", body: "ok" }, { name: "../../evil-dotdot", body: P }]], expect: () => ({ error: "UNSAFE_ARCHIVE" }) },
  { name: "a .. inside a name", layers: () => [[{ name: "a/../../../evil-mid", body: P }]], expect: () => ({ error: "UNSAFE_ARCHIVE" }) },
  { name: "an absolute name", layers: () => [[{ name: "/evil-abs", body: P }]], expect: () => ({ root: { "evil-abs": P } }) },
  { name: "symlink to / then a file through it", layers: () => [[{ name: "a", type: "symlink", linkname: "/" }, { name: "a/evil-root", body: P }]], expect: () => ({ root: { a: { link: "/" }, "evil-root": P } }) },
  {
    name: "symlink climbing to the jail's parent then a file through it",
    layers: (a) => [[{ name: "up", type: "symlink", linkname: a.up }, { name: "up/outside/victim", body: P }]],
    expect: () => ({ root: { "outside/victim": P } }),
  },
  {
    name: "absolute symlink to the host directory then a file through it, same layer",
    layers: (a) => [[{ name: "d", type: "symlink", linkname: a.outside }, { name: "d/victim", body: P }]],
    expect: (a) => ({ root: { d: { link: a.outside }, [a.outside.slice(1) + "/victim"]: P } }),
  },
  {
    name: "absolute symlink to the host directory, a file through it in the next layer",
    layers: (a) => [[{ name: "d", type: "symlink", linkname: a.outside }], [{ name: "d/victim", body: P }]],
    expect: (a) => ({ root: { d: { link: a.outside }, [a.outside.slice(1) + "/victim"]: P } }),
  },
  {
    name: "symlink to the host file, replaced by a file in the same layer",
    layers: (a) => [[{ name: "f", type: "symlink", linkname: a.outside + "/victim" }, { name: "f", body: P }]],
    expect: () => ({ root: { f: P } }),
  },
  {
    name: "symlink to the host file, replaced by a file in the next layer",
    layers: (a) => [[{ name: "f", type: "symlink", linkname: a.outside + "/victim" }], [{ name: "f", body: P }]],
    expect: () => ({ root: { f: P } }),
  },
  {
    name: "a directory replaced by a symlink, then written through",
    layers: (a) => [[{ name: "d/", type: "directory" }, { name: "d", type: "symlink", linkname: a.outside }, { name: "d/victim", body: P }]],
    expect: (a) => ({ root: { d: { link: a.outside }, [a.outside.slice(1) + "/victim"]: P } }),
  },
  { name: "hardlink with a .. target", layers: (a) => [[{ name: "hl", type: "link", linkname: a.up + "/outside/victim" }]], expect: () => ({ error: "UNSAFE_ARCHIVE" }) },
  { name: "hardlink with a .. name", layers: () => [[{ name: "ok.txt", body: P }, { name: "../evil-hl", type: "link", linkname: "ok.txt" }]], expect: () => ({ error: "UNSAFE_ARCHIVE" }) },
  { name: "hardlink to an absolute host path", layers: (a) => [[{ name: "hl", type: "link", linkname: a.outside + "/victim" }]], expect: () => ({ error: "UNSAFE_ARCHIVE" }) },
  {
    name: "hardlink through a symlinked directory (d -> /etc, x -> d/passwd)",
    layers: () => [[{ name: "etc/passwd", body: "image-passwd" }, { name: "d", type: "symlink", linkname: "/etc" }, { name: "x", type: "link", linkname: "d/passwd" }]],
    expect: () => ({ root: { x: "image-passwd", "etc/passwd": "image-passwd" } }),
  },
  {
    name: "hardlink through a symlink to the host directory",
    layers: (a) => [[{ name: "d", type: "symlink", linkname: a.outside }, { name: "x", type: "link", linkname: "d/victim" }]],
    expect: () => ({ error: "UNSAFE_ARCHIVE" }),
  },
  {
    name: "whiteout through a symlink to /",
    layers: () => [[{ name: "victim", body: "lower" }, { name: "a", type: "symlink", linkname: "/" }], [{ name: "a/.wh.victim" }]],
    expect: () => ({ root: { victim: null, a: { link: "/" } } }),
  },
  {
    name: "whiteout through a symlink to the host directory",
    layers: (a) => [[{ name: "b", type: "symlink", linkname: a.outside }], [{ name: "b/.wh.victim" }]],
    // A whiteout in a directory that does not exist hides nothing and creates nothing.
    expect: (a) => ({ root: { b: { link: a.outside }, [a.outside.split("/")[1]!]: null } }),
  },
  {
    name: "whiteout through a symlink climbing out",
    layers: (a) => [[{ name: "outside/victim", body: "in-root" }, { name: "c", type: "symlink", linkname: a.up + "/outside" }], [{ name: "c/.wh.victim" }]],
    expect: () => ({ root: { "outside/victim": null, outside: { dir: true } } }),
  },
  {
    name: "opaque marker in a symlink to the host directory",
    layers: (a) => [[{ name: "a", type: "symlink", linkname: a.outside }, { name: "keep", body: "k" }], [{ name: "a/.wh..wh..opq" }]],
    expect: (a) => ({ root: { keep: "k", a: { link: a.outside }, [a.outside.split("/")[1]!]: null } }),
  },
  {
    name: "opaque marker through a symlink to /",
    layers: () => [[{ name: "s", type: "symlink", linkname: "/" }, { name: "keep", body: "k" }], [{ name: "s/.wh..wh..opq" }, { name: "new", body: "n" }]],
    expect: () => ({ root: { keep: null, s: null, new: "n" } }),
  },
  {
    name: "opaque marker at the root",
    layers: () => [[{ name: "keep", body: "k" }, { name: "dir/x", body: "x" }], [{ name: ".wh..wh..opq" }, { name: "new", body: "n" }]],
    expect: () => ({ root: { keep: null, dir: null, new: "n" } }),
  },
  {
    name: ".wh..wh..opq as a directory with entries below it",
    layers: () => [[{ name: "d/old", body: "o" }], [{ name: "d/.wh..wh..opq/", type: "directory" }, { name: "d/.wh..wh..opq/evil", body: P }, { name: "d/new", body: "n" }]],
    expect: () => ({ root: { "d/old": null, "d/new": "n", "d/.wh..wh..opq": null } }),
  },
  {
    // An ordinary user makes a read-only directory writable to fill it and puts its mode back at the end.
    name: "read-only directory replaced by a symlink to the host file",
    layers: (a) => [[{ name: "ro/", type: "directory", mode: 0o555 }], [{ name: "ro/x", body: P }, { name: "ro", type: "symlink", linkname: a.outside + "/victim" }]],
    expect: (a) => ({ root: { ro: { link: a.outside + "/victim" } } }),
  },
];

/** A tar of exactly `entries`, in order (no sorting, no checks). */
export async function craft(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    const type = e.type ?? "file";
    const body = Buffer.from(type === "file" ? (e.body ?? "") : "");
    pack.entry({ name: e.name, type, linkname: e.linkname, mode: e.mode ?? (type === "directory" ? 0o755 : type === "symlink" ? 0o777 : 0o644), size: body.length, mtime: new Date(0) }, body);
  }
  pack.finalize();
  return buffer(pack as unknown as Readable);
}

/**
 * Every path below `dir` (not following links) with type, mode, owner, size
 * and content hash or link target; `skip` paths are left out with what is below them.
 */
export function snapshot(dir: string, skip: string[] = []): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (p: string) => {
    if (skip.includes(p)) return;
    const st = lstatSync(p);
    const what = st.isSymbolicLink() ? `link ${readlinkSync(p)}` : st.isFile() ? `file ${createHash("sha256").update(readFileSync(p)).digest("hex")}` : st.isDirectory() ? "dir" : "other";
    out.set(p, `${what} mode=${(st.mode & 0o7777).toString(8)} owner=${st.uid}:${st.gid} size=${st.isDirectory() ? "-" : st.size}`);
    if (st.isDirectory()) for (const n of readdirSync(p).sort()) walk(join(p, n));
  };
  walk(dir);
  return out;
}

/** Host state no layer may touch, whatever the jail: the top of / and /etc/passwd. */
export function hostState(): string {
  return JSON.stringify([readdirSync("/").sort(), createHash("sha256").update(readFileSync("/etc/passwd")).digest("hex")]);
}

let n = 0;
/**
 * `<base>/outside/victim` (and a directory beside it) as sentinels, a
 * sentinel at every level between base and the jail, owned by `uid` so that
 * an escape running as that user could change them.
 */
export function arena(parent: string, jailParts: string[], uid = process.getuid?.() ?? 0): { base: string; outside: string; jailParent: string } {
  const base = join(parent, `case-${n++}`);
  const outside = join(base, "outside");
  mkdirSync(join(outside, "dir"), { recursive: true });
  writeFileSync(join(outside, "victim"), "victim");
  chmodSync(join(outside, "victim"), 0o600);
  let p = base;
  for (const part of jailParts) {
    writeFileSync(join(p, "sentinel"), part);
    p = join(p, part);
    mkdirSync(p, { recursive: true });
  }
  for (const q of [outside, join(outside, "dir"), join(outside, "victim")]) chownSync(q, uid, uid);
  return { base, outside, jailParent: p };
}

/** An OCI layout whose image has exactly `layers` (gzip, as given: no sorting or checks). */
export async function hostileLayout(dir: string, layers: Entry[][]): Promise<string> {
  const store = await Store.open(dir);
  const descs = [];
  const diffIds = [];
  for (const entries of layers) {
    const diff = new HashingStream();
    // Compressed, so that the payload's bytes appear in no blob: finding them in the store means an escape.
    descs.push({ mediaType: MediaType.ociLayerGzip, ...(await store.putBlob(Readable.from([await craft(entries)]).pipe(diff).pipe(createGzip()))) });
    diffIds.push(diff.digest());
  }
  const cfg = await store.putJson({ architecture: hostArch(), os: "linux", rootfs: { type: "layers", diff_ids: diffIds }, config: {} });
  const m = await store.putJson({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: cfg.digest, size: cfg.size },
    layers: descs.map((d) => ({ mediaType: d.mediaType, digest: d.digest, size: d.size })),
  });
  await store.tag("evil", { mediaType: MediaType.ociManifest, digest: m.digest, size: m.size });
  return `oci:${dir}:evil`;
}

/**
 * Files in the store, outside the unpacked roots (lading/rootfs/<chain id>,
 * lading/snapshots/<ids>/<chain id>), whose name or bytes carry the payload.
 */
export function payloadInStore(store: string): string[] {
  const unpacked = (p: string) => /\/lading\/(rootfs|snapshots\/[^/]+)\/[0-9a-f]{64}$/.test(p);
  const found: string[] = [];
  // The exec helper removes an exec's work dir (lading/tmp/exec.*) after it has answered, so for a
  // moment after client.close() such a dir may be unreadable (an overlay work dir is mode 0, made by
  // the kernel) or vanish while it is read. Only there are both expected.
  const passing = (err: unknown, p: string) => ["EACCES", "ENOENT"].includes((err as NodeJS.ErrnoException).code ?? "") && p.includes("/lading/tmp/");
  const walk = (p: string) => {
    if (unpacked(p)) return;
    try {
      const st = lstatSync(p);
      if (/evil|victim/.test(p.slice(store.length))) found.push(p);
      if (st.isFile() && readFileSync(p).includes(PAYLOAD)) found.push(p);
      if (st.isDirectory()) for (const name of readdirSync(p)) walk(join(p, name));
    } catch (err) {
      if (!passing(err, p)) throw err;
    }
  };
  walk(store);
  return found;
}


/** Checks the root filesystem as `look` reports each path. */
export async function checkRoot(expected: Record<string, Seen>, look: (path: string) => Promise<Seen>): Promise<void> {
  for (const [path, want] of Object.entries(expected)) assert.deepEqual(await look(path), want, `/${path} in the unpacked root`);
}

/**
 * A case laid out for the public API: the image as an OCI layout and a
 * store at `<base>/a/b/store`, the layers being unpacked `levels`
 * directories below the store; `exportDir` is where a test may export the
 * root filesystem to. `assertUntouched` then checks that nothing outside the
 * store changed and that the payload is nowhere in the store but there.
 */
export async function storeArena(parent: string, c: HostileCase, levels: number): Promise<{ store: string; exportDir: string; src: string; want: Outcome; assertUntouched(): void }> {
  const { base, outside, jailParent } = arena(parent, ["a", "b"]);
  const store = join(jailParent, "store");
  const exportDir = join(jailParent, "export");
  const aim = { outside, up: Array(levels + 3).fill("..").join("/") };
  const src = await hostileLayout(join(base, "layout"), c.layers(aim));
  const before = snapshot(base, [store, exportDir]);
  const host = hostState();
  return {
    store,
    exportDir,
    src,
    want: c.expect(aim),
    assertUntouched() {
      assert.deepEqual(snapshot(base, [store, exportDir]), before, "nothing outside the store (and the export's target) may change");
      assert.equal(hostState(), host);
      assert.deepEqual(payloadInStore(store), [], "the payload escaped into the store, outside the unpacked root");
    },
  };
}
