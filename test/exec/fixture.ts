/** Shared set-up for the exec tests: a busybox image in a fresh store, and a tar reader for layers. */
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { createGunzip } from "node:zlib";
import { currentIdentity, identityTag, unshareArgs } from "../../src/exec/identity.js";
import { recordedRunroot } from "../../src/exec/podman-state.js";
import tar from "tar-stream";
import { Store } from "../../src/store/store.js";
import type { ImageConfig, ImageManifest, LayerRef } from "../../src/oci/types.js";
import { runExec, type ExecRequest, type ExecResult } from "../../src/exec/run.js";
import { EXEC_HELPER } from "../../src/engine/exec-helper-path.js";
import { readEnvConfig } from "../../src/env-config.js";
import { makeBusyboxLayout } from "../helpers/images.js";
import { tempDir } from "../helpers/tmp.js";

export interface Busybox {
  store: Store;
  layers: LayerRef[];
  env: string[];
  cleanup(): void;
}

/** `subdir`: the store goes that far below the fresh temp dir (for tests of long store paths). */
export async function busybox(subdir = ""): Promise<Busybox> {
  const tmp = tempDir("lading-exec-");
  const root = join(tmp.path, subdir);
  await makeBusyboxLayout(root, "bb");
  const store = await Store.open(root);
  const desc = await store.resolveName("bb");
  const manifest = await store.readJson<ImageManifest>(desc!.digest);
  const config = await store.readJson<ImageConfig>(manifest.config.digest);
  const layers = manifest.layers.map((d, i) => ({ descriptor: d, diffId: config.rootfs.diff_ids[i]! }));
  // podman's transient state (backend tests) may live in a temp dir beside, not in, the store.
  const tag = identityTag(currentIdentity());
  return { store, layers, env: config.config?.Env ?? [], cleanup: () => rmAll(tmp, ...[recordedRunroot(join(store.root, "lading", "podman"), tag)].filter((p) => p !== undefined)) };
}

/** Rootless, snapshots hold files of subordinate ids: removed from inside lading's namespace. */
export function rmAll(tmp: { path: string; cleanup(): void }, ...also: string[]): void {
  const id = currentIdentity();
  if (id.kind !== "root") spawnSync("unshare", [...unshareArgs(id), "--", "rm", "-rf", tmp.path, ...also], { stdio: "ignore" });
  else for (const p of also) rmSync(p, { recursive: true, force: true });
  tmp.cleanup();
}

/** Runs `sh -c script` on `layers` with test defaults. */
export function sh(b: Busybox, layers: LayerRef[], script: string, extra: Partial<ExecRequest> = {}): Promise<ExecResult> {
  return runExec({ store: b.store, helper: EXEC_HELPER, settings: readEnvConfig(), runtime: readEnvConfig().runtime as ExecRequest["runtime"], layers, args: ["sh", "-c", script], env: b.env, cwd: "/", user: "", mounts: [], network: "host", layer: { sourceDateEpoch: 0 }, ...extra });
}

export interface TarItem {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  body: string;
}

/** The entries of a layer blob, in tar order. */
export async function layerItems(store: Store, layer: LayerRef): Promise<TarItem[]> {
  const ex = tar.extract();
  const items: TarItem[] = [];
  const src = store.openBlob(layer.descriptor.digest);
  const done = (async () => {
    for await (const entry of ex) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      const h = entry.header;
      items.push({
        name: h.name.replace(/\/$/, ""),
        type: h.type ?? "file",
        mode: (h.mode ?? 0) & 0o7777,
        uid: h.uid ?? 0,
        gid: h.gid ?? 0,
        size: h.size ?? 0,
        ...(h.linkname ? { linkname: h.linkname } : {}),
        ...(h.type === "character-device" || h.type === "block-device" ? { devmajor: h.devmajor, devminor: h.devminor } : {}),
        body: Buffer.concat(chunks).toString("utf8"),
      });
    }
  })();
  src.pipe(layer.descriptor.mediaType.endsWith("gzip") ? createGunzip() : new (await import("node:stream")).PassThrough()).pipe(ex);
  await done;
  return items;
}
