/**
 * Checks the store end to end: every blob against its digest, every
 * reference of index.json and of the manifests it reaches, op-cache
 * records and pins pointing at missing or corrupt blobs, unpacked trees
 * (rootfs, snapshots) that are incomplete or whose chain id does not match
 * their layers. With `repair`, removes what is broken so the next build
 * refetches or rebuilds it: corrupt blobs, records and pins that point at
 * nothing, broken trees, names whose image can no longer be read, and temp
 * files of dead processes. Temp files are reported apart: a killed process
 * leaves them by design and the next run sweeps them.
 */
import { createReadStream } from "node:fs";
import { readFile, readdir, rename, rm, stat } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Writable } from "node:stream";
import { LadingError } from "../errors.js";
import { chainIds, HashingStream, hexOf, isDigest, type Digest } from "../oci/digest.js";
import { REF_NAME_ANNOTATION, type Descriptor, type ImageIndex } from "../oci/types.js";
import { isIndexType, isManifestType } from "../oci/mediatypes.js";
import type { Store } from "./store.js";
import { digestsIn, snapshotTags } from "./usage.js";
import { deadTempEntries, strayTempFiles, sweepAllTemp } from "./temp-sweep.js";

export type FsckProblemKind =
  | "corrupt-blob" // bytes do not hash to the file's name
  | "stray-file" // a file in blobs/sha256 that is not named by a digest
  | "bad-index" // index.json unreadable
  | "missing-blob" // a named image references a blob that is missing, corrupt or of the wrong size
  | "bad-record" // an op-cache record or pin that does not parse
  | "record-missing-blob" // an op-cache record pointing at a missing or corrupt blob
  | "pin-missing-blob" // a pin whose blob is missing
  | "incomplete-snapshot" // an unpacked tree without its completion marker
  | "snapshot-chain-mismatch"; // an unpacked tree whose recorded layers give another chain id

export interface FsckProblem {
  kind: FsckProblemKind;
  /** The file or folder concerned. */
  path: string;
  message: string;
  /** With `repair`: what was done. */
  repaired?: string;
}

export interface FsckReport {
  problems: FsckProblem[];
  checked: { blobs: number; names: number; records: number; pins: number; snapshots: number };
  /** Temp files and folders left by processes that no longer run (not problems; swept by the next run or by repair). */
  tempFiles: number;
  /** Whether the store is clean (temp files aside). */
  ok: boolean;
}

export async function fsck(store: Store, opts: { repair?: boolean } = {}): Promise<FsckReport> {
  if (opts.repair) return store.withLock("gc", () => check(store, true));
  return check(store, false);
}

async function check(store: Store, repair: boolean): Promise<FsckReport> {
  const problems: FsckProblem[] = [];
  const checked = { blobs: 0, names: 0, records: 0, pins: 0, snapshots: 0 };
  const tempFiles = (await strayTempFiles(store)).length + (await deadTempEntries(store)).length;

  // 1. Blobs: every byte hashed.
  const good = new Map<Digest, number>();
  const blobDir = join(store.root, "blobs", "sha256");
  for (const name of await readdir(blobDir).catch(() => [] as string[])) {
    const path = join(blobDir, name);
    const digest = `sha256:${name}` as Digest;
    if (!isDigest(digest)) {
      problems.push({ kind: "stray-file", path, message: `${name} in blobs/sha256 is not named by a sha256 digest`, ...(repair ? { repaired: (await trash(store, path), "removed") } : {}) });
      continue;
    }
    checked.blobs++;
    const got = await hashFile(path).catch(() => undefined);
    if (got?.digest === digest) {
      good.set(digest, got.size);
      continue;
    }
    problems.push({ kind: "corrupt-blob", path, message: `blob ${digest} ${got ? `hashes to ${got.digest}` : "cannot be read"}`, ...(repair ? { repaired: (await rm(path, { force: true }), "removed") } : {}) });
  }
  const present = (d: Descriptor | { digest: unknown; size?: unknown }) => isDigest(d.digest) && good.has(d.digest) && (typeof d.size !== "number" || good.get(d.digest) === d.size);

  // 2. Named images: every reference down to the layers.
  let index: ImageIndex | undefined;
  try {
    index = JSON.parse(await readFile(join(store.root, "index.json"), "utf8")) as ImageIndex;
    if (!Array.isArray(index.manifests)) throw new LadingError("INVALID_IMAGE", "no manifests array");
  } catch (err) {
    problems.push({ kind: "bad-index", path: join(store.root, "index.json"), message: `index.json cannot be read: ${(err as Error).message}` });
  }
  const brokenNames: string[] = [];
  for (const d of index?.manifests ?? []) {
    checked.names++;
    const name = d.annotations?.[REF_NAME_ANNOTATION] ?? d.digest;
    const missing = await missingUnder(store, d, present);
    if (missing.length === 0) continue;
    brokenNames.push(name);
    problems.push({ kind: "missing-blob", path: join(store.root, "index.json"), message: `image "${name}" needs ${missing.join(", ")}, missing or corrupt` });
  }
  if (repair && brokenNames.length) {
    for (const n of brokenNames) await store.untag(n);
    for (const p of problems) if (p.kind === "missing-blob") p.repaired = "name removed (pull or build it again)";
  }

  // 3. Op-cache records and pins: what they point at must be there.
  for (const [dir, kind] of [["opcache", "record-missing-blob"], ["pins", "pin-missing-blob"]] as const) {
    const full = join(store.root, "lading", dir);
    for (const name of await readdir(full).catch(() => [] as string[])) {
      if (!name.endsWith(".json") || name.startsWith(".")) continue;
      const path = join(full, name);
      if (dir === "opcache") checked.records++;
      else checked.pins++;
      let refs: Digest[];
      try {
        refs = digestsIn(JSON.parse(await readFile(path, "utf8")));
      } catch (err) {
        problems.push({ kind: "bad-record", path, message: `${dir} entry ${name} does not parse: ${(err as Error).message}`, ...(repair ? { repaired: (await rm(path, { force: true }), "removed") } : {}) });
        continue;
      }
      const missing = refs.filter((r) => !good.has(r));
      // A pin names a manifest; a record names every blob its result needs.
      if (missing.length && (dir === "opcache" || missing.length === refs.length)) {
        problems.push({ kind, path, message: `${dir} entry ${name} points at ${missing.join(", ")}, missing or corrupt`, ...(repair ? { repaired: (await rm(path, { force: true }), "removed") } : {}) });
      }
    }
  }

  // 4. Unpacked trees.
  const treeDirs: Array<[string, boolean]> = [[join(store.root, "lading", "rootfs"), true]];
  for (const tag of await snapshotTags(store)) treeDirs.push([join(store.root, "lading", "snapshots", tag), false]);
  for (const [dir, needsMarker] of treeDirs) {
    const names = await readdir(dir).catch(() => [] as string[]);
    const set = new Set(names);
    for (const name of names) {
      if (name.startsWith(".") || name.includes(".")) continue;
      const path = join(dir, name);
      const st = await stat(path).catch(() => undefined);
      if (!st?.isDirectory()) continue;
      checked.snapshots++;
      const problem = await checkTree(dir, name, set, needsMarker);
      if (!problem) continue;
      if (repair) {
        await trash(store, path);
        for (const n of names) if (n.startsWith(name + ".")) await rm(join(dir, n), { force: true });
        problem.repaired = "removed (unpacked again when needed)";
      }
      problems.push({ ...problem, path });
    }
  }

  if (repair) await sweepAllTemp(store);
  return { problems, checked, tempFiles: repair ? 0 : tempFiles, ok: problems.every((p) => p.repaired) };
}

/**
 * A tree is named by its chain id (or "empty"). The engine's rootfs trees
 * are complete once their marker `<chainid>.complete` exists (written
 * before the rename that publishes the tree); exec's snapshots are
 * published by a rename alone. If a `<chainid>.json` records `diffIds`,
 * their chain id must be the name.
 */
async function checkTree(dir: string, name: string, names: Set<string>, needsMarker: boolean): Promise<Omit<FsckProblem, "path"> | undefined> {
  if (name === "empty") return undefined;
  if (!/^[a-f0-9]{64}$/.test(name)) return { kind: "snapshot-chain-mismatch", message: `${name} is not named by a chain id` };
  if (needsMarker && !names.has(name + ".complete")) return { kind: "incomplete-snapshot", message: `${name} has no completion marker` };
  if (names.has(name + ".json")) {
    try {
      const meta = JSON.parse(await readFile(join(dir, name + ".json"), "utf8")) as { diffIds?: unknown };
      if (Array.isArray(meta.diffIds) && meta.diffIds.every(isDigest)) {
        const top = chainIds(meta.diffIds as Digest[]).at(-1);
        if (!top || hexOf(top) !== name) return { kind: "snapshot-chain-mismatch", message: `its layers give chain id ${top}, not ${name}` };
      }
    } catch (err) {
      return { kind: "snapshot-chain-mismatch", message: `its metadata ${name}.json does not parse: ${(err as Error).message}` };
    }
  }
  return undefined;
}

/** Digests (as text) under descriptor `d` that are missing, corrupt or of the wrong size. */
async function missingUnder(store: Store, d: Descriptor, present: (d: Descriptor) => boolean): Promise<string[]> {
  const out: string[] = [];
  const stack: Descriptor[] = [d];
  const seen = new Set<string>();
  while (stack.length) {
    const cur = stack.pop()!;
    if (seen.has(cur.digest)) continue;
    seen.add(cur.digest);
    if (!present(cur)) {
      out.push(cur.digest);
      continue;
    }
    if (!isIndexType(cur.mediaType) && !isManifestType(cur.mediaType)) continue;
    let json: { manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
    try {
      json = JSON.parse((await readFile(store.blobPath(cur.digest))).toString("utf8"));
    } catch {
      out.push(cur.digest); // a manifest that does not parse is as good as missing
      continue;
    }
    if (Array.isArray(json.manifests)) stack.push(...json.manifests);
    if (json.config && Array.isArray(json.layers)) stack.push(json.config, ...json.layers);
  }
  return out;
}

async function hashFile(path: string): Promise<{ digest: Digest; size: number }> {
  const h = new HashingStream();
  await pipeline(createReadStream(path), h, new Writable({ write: (_c, _e, cb) => cb() }));
  return { digest: h.digest(), size: h.size };
}

async function trash(store: Store, path: string): Promise<void> {
  const t = join(store.root, "lading", "tmp", `fsck.${process.pid}.${randomBytes(6).toString("hex")}`);
  await rename(path, t).catch(() => {});
  await rm(t, { recursive: true, force: true });
  await rm(path, { recursive: true, force: true });
}
