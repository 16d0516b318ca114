import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { Store } from "../../src/store/store.js";
import { RegistryClient, type ProgressEvent } from "../../src/registry/client.js";
import { parseReference } from "../../src/registry/reference.js";
import { sha256 } from "../../src/oci/digest.js";
import { startRegistry, type RegistryHandle } from "../helpers/registry.js";
import { tempDir } from "../helpers/tmp.js";
import { run } from "../helpers/tools.js";
import { assertStoreIntact, makeImage, makeIndex } from "./images.js";

describe("round trips with skopeo against a real registry", () => {
  let reg: RegistryHandle;
  const tmp = tempDir("lading-reg-rt-");
  before(async () => {
    reg = await startRegistry();
  });
  after(async () => {
    await reg?.stop();
    tmp.cleanup();
  });

  it("lading pushes; skopeo reads the same digest, bytes and annotations, and copies it out", async () => {
    const store = await Store.open(join(tmp.path, "s1"));
    const img = await makeImage(store, { layerSizes: [4096, 70_000], annotations: { "org.example.note": "from lading" } });
    const client = new RegistryClient();
    try {
      const digest = await client.push(store, img.manifest, parseReference(`${reg.host}/rt/app:v1`));
      assert.equal(digest, img.manifest.digest);
    } finally {
      await client.close();
    }
    const raw = run("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${reg.host}/rt/app:v1`]);
    assert.equal(sha256(raw), img.manifest.digest);
    assert.equal(JSON.parse(raw).annotations["org.example.note"], "from lading");
    const out = join(tmp.path, "skopeo-out");
    run("skopeo", ["copy", "--src-tls-verify=false", `docker://${reg.host}/rt/app:v1`, `oci:${out}:v1`]);
    const idx = JSON.parse(readFileSync(join(out, "index.json"), "utf8"));
    assert.equal(idx.manifests[0].digest, img.manifest.digest);
  });

  it("skopeo pushes an OCI layout; lading pulls it with equal digests into a store that stays intact", async () => {
    const src = await Store.open(join(tmp.path, "layout"));
    const img = await makeImage(src, { layerSizes: [10_000, 3000], annotations: { "org.example.who": "skopeo" } });
    await src.tag("v2", img.manifest);
    run("skopeo", ["copy", "--dest-tls-verify=false", `oci:${src.root}:v2`, `docker://${reg.host}/rt/other:v2`]);
    const store = await Store.open(join(tmp.path, "s2"));
    const events: ProgressEvent[] = [];
    const client = new RegistryClient({ onProgress: (e) => events.push(e) });
    try {
      const got = await client.pull(parseReference(`${reg.host}/rt/other:v2`), store);
      assert.equal(got.manifest.digest, img.manifest.digest);
      assert.equal(got.manifest.mediaType, img.manifest.mediaType);
      assert.equal(got.index, undefined);
      for (const d of [img.config, ...img.layers]) assert.ok(await store.hasBlob(d.digest, d.size), `missing ${d.digest}`);
      assert.ok(events.some((e) => e.kind === "blob" && e.done && e.digest === img.layers[0]!.digest));
      // resolve agrees with what skopeo sees
      const desc = await client.resolve(parseReference(`${reg.host}/rt/other:v2`));
      assert.equal(desc.digest, img.manifest.digest);
      assert.equal(desc.size, img.manifest.size);
    } finally {
      await client.close();
    }
    await assertStoreIntact(store);
  });

  it("pushes an index with its platform manifests; a pull picks the asked platform", async () => {
    const store = await Store.open(join(tmp.path, "s3"));
    const { index, images } = await makeIndex(store, ["amd64", "arm64"]);
    const client = new RegistryClient();
    try {
      assert.equal(await client.push(store, index, parseReference(`${reg.host}/rt/multi:latest`)), index.digest);
      const raw = run("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${reg.host}/rt/multi:latest`]);
      assert.equal(sha256(raw), index.digest);
      const fresh = await Store.open(join(tmp.path, "s3b"));
      const got = await client.pull(parseReference(`${reg.host}/rt/multi`), fresh, { platform: { os: "linux", architecture: "arm64" } });
      assert.equal(got.index?.digest, index.digest);
      assert.equal(got.manifest.digest, images[1]!.manifest.digest);
      assert.ok(!(await fresh.hasBlob(images[0]!.layers[0]!.digest)), "the other platform's layer was not pulled");
      await assertStoreIntact(fresh);
    } finally {
      await client.close();
    }
  });

  it("uploads a large blob in chunks, skips what the repository has, and mounts across repositories", async () => {
    const store = await Store.open(join(tmp.path, "s4"));
    const img = await makeImage(store, { layerSizes: [300_000] });
    const requests: string[] = [];
    const events: ProgressEvent[] = [];
    const client = new RegistryClient({ chunkSize: 64 * 1024, onRequest: (r) => requests.push(`${r.method} ${r.url}`), onProgress: (e) => events.push(e) });
    try {
      await client.push(store, img.manifest, parseReference(`${reg.host}/rt/big:1`));
      assert.ok(requests.filter((r) => r.startsWith("PATCH")).length >= 4, "the layer went up in several PATCH chunks");
      const out = join(tmp.path, "big-out");
      run("skopeo", ["copy", "--src-tls-verify=false", `docker://${reg.host}/rt/big:1`, `oci:${out}:1`]);
      assert.equal(sha256(readFileSync(join(out, "blobs", "sha256", img.layers[0]!.digest.slice(7)))), img.layers[0]!.digest);

      requests.length = 0;
      events.length = 0;
      await client.push(store, img.manifest, parseReference(`${reg.host}/rt/big:2`));
      assert.equal(requests.filter((r) => r.startsWith("PATCH") || r.startsWith("POST")).length, 0, "second push to the same repository uploads nothing");
      assert.ok(events.filter((e) => e.kind === "blob").every((e) => e.skipped));

      requests.length = 0;
      events.length = 0;
      await client.push(store, img.manifest, parseReference(`${reg.host}/rt/elsewhere:1`));
      assert.equal(requests.filter((r) => r.startsWith("PATCH")).length, 0, "a push to another repository mounts instead of uploading");
      assert.ok(events.some((e) => e.kind === "blob" && e.mounted && e.digest === img.layers[0]!.digest));
      assert.equal(sha256(run("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${reg.host}/rt/elsewhere:1`])), img.manifest.digest);
    } finally {
      await client.close();
    }
  });

  it("keeps Docker media types as they are", async () => {
    const store = await Store.open(join(tmp.path, "s5"));
    const img = await makeImage(store, { docker: true });
    const client = new RegistryClient();
    try {
      await client.push(store, img.manifest, parseReference(`${reg.host}/rt/docker:1`));
      const fresh = await Store.open(join(tmp.path, "s5b"));
      const got = await client.pull(parseReference(`${reg.host}/rt/docker:1`), fresh);
      assert.equal(got.manifest.mediaType, "application/vnd.docker.distribution.manifest.v2+json");
      assert.equal(got.manifest.digest, img.manifest.digest);
    } finally {
      await client.close();
    }
  });

  it("keeps the referrers fallback index for a manifest with a subject (registry 2.8 has no referrers API)", async () => {
    const store = await Store.open(join(tmp.path, "s7"));
    const img = await makeImage(store);
    const empty = await store.putBlob("{}");
    const sbom = await store.putBlob('{"sbom":true}');
    const art = await store.putJson({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      artifactType: "application/vnd.example.sbom",
      config: { mediaType: "application/vnd.oci.empty.v1+json", digest: empty.digest, size: empty.size },
      layers: [{ mediaType: "application/json", digest: sbom.digest, size: sbom.size }],
      subject: img.manifest,
      annotations: { "org.example.kind": "sbom" },
    });
    const artDesc = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: art.digest, size: art.size };
    const client = new RegistryClient();
    try {
      await client.push(store, img.manifest, parseReference(`${reg.host}/rt/subject:1`));
      await client.push(store, artDesc, parseReference(`${reg.host}/rt/subject@${art.digest}`));
      await client.push(store, artDesc, parseReference(`${reg.host}/rt/subject:sbom`)); // again: no duplicate entry
    } finally {
      await client.close();
    }
    const tag = `sha256-${img.manifest.digest.slice(7)}`;
    const index = JSON.parse(run("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${reg.host}/rt/subject:${tag}`]));
    assert.equal(index.mediaType, "application/vnd.oci.image.index.v1+json");
    assert.deepEqual(index.manifests, [{ ...artDesc, artifactType: "application/vnd.example.sbom", annotations: { "org.example.kind": "sbom" } }]);
  });

  it("a missing tag is a REGISTRY error naming the reference, with the registry's code", async () => {
    const client = new RegistryClient();
    try {
      await assert.rejects(client.pull(parseReference(`${reg.host}/rt/none:nope`), await Store.open(join(tmp.path, "s6"))), (e: Error & { code?: string; statusCode?: number }) => {
        assert.equal(e.code, "REGISTRY");
        assert.equal(e.statusCode, 404);
        assert.match(e.message, /rt\/none:nope/);
        assert.match(e.message, /MANIFEST_UNKNOWN/);
        return true;
      });
    } finally {
      await client.close();
    }
  });
});
