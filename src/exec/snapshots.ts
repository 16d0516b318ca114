/**
 * Unpacked root filesystems, kept in the store by chain id and shared
 * between builds: `<store>/lading/snapshots/<id mapping>/<chain id hex>`
 * holds the whole root filesystem of the layers up to that chain id, with
 * whiteouts applied (flattened). One flat lower dir keeps the overlay mount
 * simple and lets the diff find opaque directories without xattrs; the
 * price is one copy per distinct chain that is executed on, which is what a
 * build's next RUN needs anyway.
 *
 * Made in a temp dir beside the final one and renamed into place, so
 * concurrent builds never see half a snapshot: when two make the same one,
 * the second rename fails and its copy is dropped. Runs inside the helper's
 * namespaces so owners are the image's, not the caller's.
 */
import { randomBytes } from "node:crypto";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { LadingError } from "../errors.js";
import { chainIds, hexOf } from "../oci/digest.js";
import type { LayerRef } from "../oci/types.js";
import type { ExecStore } from "./exec-store.js";
import { runTool } from "./proc.js";

const exists = (p: string) => stat(p).then(() => true, () => false);

/** The directory of the flattened snapshot for `layers`, made if missing. */
export async function ensureSnapshot(store: ExecStore, layers: LayerRef[], tag: string, debug: (m: string) => void): Promise<string> {
  const base = join(await store.stateDir("snapshots"), tag);
  // The images' setuid programs are in here: nobody else may reach them (issue 21).
  await mkdir(base, { recursive: true, mode: 0o700 });
  if (layers.length === 0) {
    const empty = join(base, "empty");
    if (!(await exists(empty))) await placeDir(base, empty, async (tmp) => void tmp);
    return empty;
  }
  const chain = chainIds(layers.map((l) => l.diffId));
  const target = join(base, hexOf(chain[chain.length - 1]!));
  if (await exists(target)) {
    debug(`snapshot ${chain[chain.length - 1]} is unpacked already`);
    return target;
  }
  // Start from the deepest snapshot already there (a previous step's root).
  let from = -1;
  for (let i = chain.length - 2; i >= 0; i--) {
    if (await exists(join(base, hexOf(chain[i]!)))) {
      from = i;
      break;
    }
  }
  await placeDir(base, target, async (tmp) => {
    if (from >= 0) {
      debug(`snapshot: copying ${chain[from]} and applying ${chain.length - 1 - from} layer(s)`);
      const r = await runTool("cp", ["-a", "--reflink=auto", join(base, hexOf(chain[from]!)) + "/.", tmp]);
      if (r.code !== 0) throw new LadingError("INTERNAL", `copying snapshot ${chain[from]}: ${r.stderr.trim()}`);
    } else debug(`snapshot: unpacking ${layers.length} layer(s)`);
    const { extractLayerBlob } = await import("../oci/extract.js"); // not loaded on the warm path
    for (let i = from + 1; i < layers.length; i++) {
      await extractLayerBlob(store, layers[i]!, tmp, { applyWhiteouts: true, chown: true, devices: "skip" });
    }
  });
  return target;
}

/** Fills a temp dir beside `target` with `fill` and renames it into place (first one wins). */
async function placeDir(base: string, target: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = join(base, `.tmp-${process.pid}-${randomBytes(6).toString("hex")}`);
  await mkdir(tmp, { mode: 0o755 });
  try {
    await fill(tmp);
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === "ENOTEMPTY" || code === "EEXIST") && (await exists(target))) return;
    throw err;
  }
}
