import { test, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Store } from "../../src/store/store.js";
import { RegistryClient } from "../../src/registry/client.js";
import { parseReference } from "../../src/registry/reference.js";
import { pullIfMissing } from "../../src/registry/pull-policy.js";
import { MediaType } from "../../src/oci/mediatypes.js";
import { makeBusyboxLayout, hostArch } from "../helpers/images.js";
import { startRegistry } from "../helpers/registry.js";
import { tempDir } from "../helpers/tmp.js";
import { run } from "../helpers/tools.js";

const t = tempDir("lading-nested-");
after(t.cleanup);

test("an index inside an index: push, pull down to the platform's manifest, then zero requests by digest", async () => {
  const reg = await startRegistry();
  try {
    const img = await makeBusyboxLayout(join(t.path, "src"));
    const src = await Store.open(img.dir);
    const manifest = (await src.resolveName(img.tag))!;
    const platform = { os: "linux", architecture: hostArch() };
    const inner = await src.putJson({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [{ mediaType: MediaType.ociManifest, digest: manifest.digest, size: manifest.size, platform }] });
    const outer = await src.putJson({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [{ mediaType: MediaType.ociIndex, digest: inner.digest, size: inner.size, platform }] });
    const ref = parseReference(`${reg.host}/nested:1`);
    const client = new RegistryClient();
    try {
      assert.equal(await client.push(src, { mediaType: MediaType.ociIndex, digest: outer.digest, size: outer.size }, ref), outer.digest);
    } finally {
      await client.close();
    }
    const raw = JSON.parse(run("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${reg.host}/nested:1`]));
    assert.equal(raw.manifests[0].digest, inner.digest);

    const dest = await Store.open(join(t.path, "dest"));
    let requests = 0;
    const counting = new RegistryClient({ onRequest: () => requests++ });
    try {
      const pulled = await counting.pull(ref, dest, { platform });
      assert.equal(pulled.manifest.digest, manifest.digest);
      assert.equal(pulled.index?.digest, outer.digest);
      requests = 0;
      const again = await pullIfMissing(counting, dest, { ...ref, tag: undefined, digest: outer.digest }, "missing", { platform });
      assert.equal(again.digest, manifest.digest);
      assert.equal(requests, 0);
    } finally {
      await counting.close();
    }
  } finally {
    await reg.stop();
  }
});
