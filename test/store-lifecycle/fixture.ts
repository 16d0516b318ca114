/**
 * A store holding one of everything the lifecycle code deals with, made
 * with the Store's own primitives (no engine): a named busybox image, loose
 * blobs, an unnamed manifest, op-cache records, a pin, unpacked root
 * filesystems, an exec snapshot and a cache volume — each with a chosen
 * "last used" time.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { lstatSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Store } from "../../src/store/store.js";
import { chainIds, hexOf, sha256, type Digest } from "../../src/oci/digest.js";
import { MediaType } from "../../src/oci/mediatypes.js";
import { makeBusyboxLayout } from "../helpers/images.js";

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

export interface Fixture {
  store: Store;
  named: { manifest: Digest; layer: Digest; config: Digest };
  /** A layer blob held only by op-cache record `recordB`. */
  blobB: Digest;
  recordB: Digest;
  /** An op-cache record holding the named image's layer. */
  recordNamed: Digest;
  /** An unnamed manifest and the config and layer only it holds. */
  unnamedManifest: Digest;
  unnamedConfig: Digest;
  unnamedLayer: Digest;
  /** A loose blob nothing points at, and the pin naming it. */
  loose: Digest;
  pinRef: string;
  rootfsOld: string;
  rootfsNew: string;
  snapshot: string;
  volume: string;
}

/** Sets a path's mtime (its "last used") to `ago` ms before now. */
export function age(path: string, ago: number): void {
  const t = new Date(Date.now() - ago);
  utimesSync(path, t, t);
}

/** Moves every mtime under `dir` back by `ms`, as if that much time had passed since the builds. */
export function ageTree(dir: string, ms: number): void {
  const when = new Date(Date.now() - ms);
  const walk = (p: string) => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return;
    if (st.isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
    utimesSync(p, when, when);
  };
  walk(dir);
}

export async function makeFixture(dir: string): Promise<Fixture> {
  const layout = await makeBusyboxLayout(dir, "base");
  const store = await Store.open(dir);
  const m = await store.readJson<{ config: { digest: Digest }; layers: Array<{ digest: Digest }> }>(layout.manifestDigest);
  const named = { manifest: layout.manifestDigest, layer: m.layers[0]!.digest, config: m.config.digest };
  for (const d of Object.values(named)) age(store.blobPath(d), 400 * DAY);

  const blobB = (await store.putBlob(randomBytes(3000))).digest;
  const recordB = sha256("op:B");
  await store.putCached(recordB, { layer: { diffId: sha256("diff-B"), descriptor: { mediaType: MediaType.ociLayerGzip, digest: blobB, size: 3000 } } });
  const recordNamed = sha256("op:named");
  await store.putCached(recordNamed, { layer: { diffId: sha256("diff-n"), descriptor: { mediaType: MediaType.ociLayerGzip, digest: named.layer, size: 1 } } });

  const unnamedLayer = (await store.putBlob(randomBytes(2000))).digest;
  const unnamedConfig = (await store.putJson({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha256("x")] } })).digest;
  const unnamedManifest = (
    await store.putJson({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: unnamedConfig, size: 1 },
      layers: [{ mediaType: MediaType.ociLayerGzip, digest: unnamedLayer, size: 2000 }],
    })
  ).digest;

  const loose = (await store.putBlob(randomBytes(1000))).digest;
  const pinRef = "registry.example/loose:1";
  await store.setPin(pinRef, { digest: loose, mediaType: MediaType.ociManifest, size: 1000 });

  const rootfsDir = await store.stateDir("rootfs");
  const mkTree = (base: string, name: string, bytes: number, marker: boolean) => {
    const p = join(base, name);
    mkdirSync(join(p, "etc"), { recursive: true });
    writeFileSync(join(p, "etc", "data"), randomBytes(bytes));
    if (marker) writeFileSync(join(base, name + ".complete"), "");
    return p;
  };
  const rootfsOld = mkTree(rootfsDir, hexOf(sha256("chain-old")), 5000, true);
  const rootfsNew = mkTree(rootfsDir, hexOf(sha256("chain-new")), 5000, true);
  // exec keeps snapshots per owner mapping: snapshots/<mapping>/<chainid>
  const snapDir = join(await store.stateDir("snapshots"), "root");
  mkdirSync(snapDir, { recursive: true });
  const diffIds = [sha256("l1"), sha256("l2")];
  const snapName = hexOf(chainIds(diffIds).at(-1)!);
  const snapshot = mkTree(snapDir, snapName, 4000, false);
  writeFileSync(join(snapDir, snapName + ".json"), JSON.stringify({ diffIds }));
  const volume = mkTree(await store.stateDir("volumes"), hexOf(sha256("npm")), 6000, false);

  // Last use: volumes and old rootfs idle 3 days (first to go), blob B 70 days, the rest recent-ish.
  age(volume, 3 * DAY);
  age(rootfsOld, 3 * DAY);
  age(rootfsOld + ".complete", 3 * DAY);
  age(snapshot, 5 * HOUR);
  age(join(snapDir, snapName + ".json"), 5 * HOUR);
  age(rootfsNew, 2 * HOUR);
  age(rootfsNew + ".complete", 2 * HOUR);
  age(store.blobPath(blobB), 70 * DAY);
  age(join(store.root, "lading", "opcache", hexOf(recordB) + ".json"), 10 * HOUR);
  age(join(store.root, "lading", "opcache", hexOf(recordNamed) + ".json"), 9 * HOUR);
  for (const d of [unnamedLayer, unnamedConfig]) age(store.blobPath(d), 8 * HOUR);
  age(store.blobPath(unnamedManifest), 7 * HOUR);
  age(store.blobPath(loose), 6 * HOUR);
  return { store, named, blobB, recordB, recordNamed, unnamedManifest, unnamedConfig, unnamedLayer, loose, pinRef, rootfsOld, rootfsNew, snapshot, volume };
}

/** A pid that is certainly not running (a child that has exited). */
export function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}
