// The push/pull benches' source image: the busybox test base plus one layer of
// PAYLOAD_MB random bytes, as one image tagged "bench" in an OCI layout at `dir`
// (bench/registry and bench/whole use the same one, so their figures compare).
// With `plain`, the layout has no lading/ folder, as skopeo or umoci leave one.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { Store } from "../dist/src/store/store.js";
import { makeBusyboxLayout } from "../dist/test/helpers/images.js";
import { makeImage } from "../dist/test/registry/images.js";

const MANIFEST = "application/vnd.oci.image.manifest.v1+json";

export async function makePayloadLayout(dir, work, payloadMb, { plain = false } = {}) {
  const bb = await makeBusyboxLayout(join(work, "bb"));
  const bbStore = await Store.open(bb.dir);
  const bbManifest = await bbStore.readJson(bb.manifestDigest);
  const store = await Store.open(dir);
  const base = bbManifest.layers[0];
  await store.putBlob(await bbStore.readBlob(base.digest));
  const payload = await makeImage(store, { layerSizes: [payloadMb << 20] });
  const cfg = await store.readJson(payload.config.digest);
  const baseDiff = (await bbStore.readJson(bbManifest.config.digest)).rootfs.diff_ids[0];
  const config = await store.putJson({ ...cfg, rootfs: { type: "layers", diff_ids: [baseDiff, ...cfg.rootfs.diff_ids] } });
  const m = await store.putJson({ schemaVersion: 2, mediaType: MANIFEST, config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: config.digest, size: config.size }, layers: [base, ...payload.layers] });
  await store.tag("bench", { mediaType: MANIFEST, digest: m.digest, size: m.size });
  if (plain) rmSync(join(dir, "lading"), { recursive: true, force: true });
  return dir;
}
