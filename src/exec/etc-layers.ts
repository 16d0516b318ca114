/**
 * The /etc layers (etc-files.ts) of one helper, kept between its execs.
 * Making one is a dozen file operations in a row that the overlay mount
 * waits for: most of a no-change exec's set-up before the runtime starts.
 * An exec whose snapshot /etc (owner, mode, times), runtime files and
 * backend are an earlier exec's lays the same directory over its snapshot:
 * overlayfs never writes to a lower layer, so mounts can share one.
 *
 * The layer also holds empty /proc, /dev and /sys when the image has none
 * (minimal images, the test busybox): the runtime's mount points are then
 * there without the stubs (stubs.ts) made through the overlay and removed
 * after, four new inodes and a copy-up of / each time. They reach no layer
 * either way: a lower layer is never in the diff, an empty stub was removed.
 *
 * The layers live in one temp folder of the helper's (store temp, named
 * after its pid): removed when the helper exits, swept with its other temp
 * files if it is killed. At most MAX_KEPT are kept; one is removed only
 * while no mount uses it.
 */
import { existsSync, rmSync } from "node:fs";
import { lstat, mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { RuntimeBackend } from "./backends.js";
import { etcFileTexts, writeEtcLayer, type EtcPayloads } from "./etc-files.js";
import type { ExecNet } from "./job.js";

const MAX_KEPT = 8;
/** Where every exec's runtime mounts a filesystem of its own (spec.ts). */
const SYSTEM_MOUNT_POINTS = ["proc", "dev", "sys"];

export interface EtcLayer {
  dir: string;
  payloads: EtcPayloads;
  /** The exec's mount no longer uses the layer (after its unmount). */
  release(): void;
}

interface Kept {
  dir: string;
  made: Promise<EtcPayloads>;
  users: number;
}

/** Per temp folder (one per store the helper serves): key → layer, oldest first. */
const kept = new Map<string, Map<string, Kept>>();
let seq = 0;

process.on("exit", () => {
  for (const folder of kept.keys()) rmSync(folder, { recursive: true, force: true });
});

/**
 * The /etc layer for an exec on `snapshot`, made in `folder` (a temp path of
 * this helper's, the same on every call for one store) unless an equal one
 * is there. Undefined when the image's /etc is not a directory (a linked
 * /etc keeps the bind mounts, which the runtime resolves inside the root).
 */
export async function etcLayerFor(folder: string, snapshot: string, backend: Pick<RuntimeBackend, "name" | "bindsOwnHostname" | "addedPaths">, net?: ExecNet): Promise<EtcLayer | undefined> {
  // On a session network the layer holds the network's /etc/hosts as it is now (the runtime binds the live file over it).
  const [etc, texts, hosts, ...present] = await Promise.all([
    lstat(join(snapshot, "etc")).catch(() => undefined),
    etcFileTexts(net),
    net ? readFile(net.hostsFile, "utf8") : undefined,
    ...SYSTEM_MOUNT_POINTS.map((n) => lstat(join(snapshot, n)).then(() => true, () => false)),
  ]);
  const mountPoints = SYSTEM_MOUNT_POINTS.filter((_, i) => !present[i]);
  if (hosts !== undefined) texts.unshift(["/etc/hosts", hosts]);
  if (etc && !etc.isDirectory()) return undefined;
  // Everything the layer is made of; a snapshot's contents never change under its path.
  const key = JSON.stringify([snapshot, etc ? [etc.uid, etc.gid, etc.mode, etc.atimeMs, etc.mtimeMs] : null, backend.name, backend.bindsOwnHostname, backend.addedPaths, texts, mountPoints]);
  let layers = kept.get(folder);
  if (!layers) kept.set(folder, (layers = new Map()));
  let k = layers.get(key);
  // The store may have been removed and made again at the same path (tests do): then the layer is made anew.
  if (k && !existsSync(k.dir)) {
    layers.delete(key);
    k = undefined;
  }
  if (!k) {
    const dir = join(folder, String(seq++));
    const made = mkdir(folder, { recursive: true, mode: 0o700 })
      .then(() => writeEtcLayer(dir, snapshot, etc, texts, backend))
      .then(async (payloads) => {
        await Promise.all(mountPoints.map((n) => mkdir(join(dir, n), { mode: 0o755 })));
        return payloads;
      });
    k = { dir, made, users: 0 };
    layers.set(key, k);
    made.catch(() => {
      if (layers.get(key) === k) layers.delete(key);
    });
  } else {
    // Most recently used last.
    layers.delete(key);
    layers.set(key, k);
  }
  const entry = k;
  entry.users++;
  evict(layers);
  let payloads: EtcPayloads;
  try {
    payloads = await entry.made;
  } catch (err) {
    entry.users--;
    await rm(entry.dir, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
  let released = false;
  return {
    dir: entry.dir,
    payloads,
    release: () => {
      if (released) return;
      released = true;
      entry.users--;
      evict(layers);
    },
  };
}

function evict(layers: Map<string, Kept>): void {
  for (const [key, k] of layers) {
    if (layers.size <= MAX_KEPT) return;
    if (k.users > 0) continue;
    layers.delete(key);
    void k.made.then(() => rm(k.dir, { recursive: true, force: true })).catch(() => {});
  }
}
