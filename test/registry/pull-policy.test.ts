import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Store } from "../../src/store/store.js";
import { RegistryClient } from "../../src/registry/client.js";
import { parseReference } from "../../src/registry/reference.js";
import { pinKey, pullIfMissing } from "../../src/registry/pull-policy.js";
import { startRegistry, type RegistryHandle } from "../helpers/registry.js";
import { tempDir } from "../helpers/tmp.js";
import { makeImage } from "./images.js";

describe("pull policy and digest pins, counted on the wire", () => {
  let reg: RegistryHandle;
  const tmp = tempDir("lading-reg-pp-");
  const requests: string[] = [];
  let client: RegistryClient;
  let pushed: { digest: `sha256:${string}`; layer: `sha256:${string}` };
  before(async () => {
    reg = await startRegistry();
    client = new RegistryClient({ onRequest: (r) => requests.push(`${r.method} ${r.url}`) });
    const src = await Store.open(join(tmp.path, "src"));
    const img = await makeImage(src, { layerSizes: [5000] });
    await client.push(src, img.manifest, parseReference(`${reg.host}/pp/app:1`));
    pushed = { digest: img.manifest.digest, layer: img.layers[0]!.digest };
  });
  after(async () => {
    await client?.close();
    await reg?.stop();
    tmp.cleanup();
  });

  it("name@sha256 already in the store: zero requests", async () => {
    const store = await Store.open(join(tmp.path, "a"));
    const ref = parseReference(`${reg.host}/pp/app@${pushed.digest}`);
    requests.length = 0;
    const first = await pullIfMissing(client, store, ref, "missing");
    assert.equal(first.digest, pushed.digest);
    assert.ok(requests.length > 0, "the first pull goes to the registry");
    requests.length = 0;
    const again = await pullIfMissing(client, store, ref, "missing");
    assert.equal(again.digest, pushed.digest);
    assert.deepEqual(requests, []);
    // "always" with a digest reference cannot change either: still nothing to ask
    await pullIfMissing(client, store, ref, "always");
    assert.deepEqual(requests, []);
  });

  it("a tag with a pin and its content present: zero requests under 'missing'; 'always' only resolves", async () => {
    const store = await Store.open(join(tmp.path, "b"));
    const ref = parseReference(`${reg.host}/pp/app:1`);
    await pullIfMissing(client, store, ref, "missing");
    assert.equal((await store.getPin(pinKey(ref)))?.digest, pushed.digest);
    requests.length = 0;
    assert.equal((await pullIfMissing(client, store, ref, "missing")).digest, pushed.digest);
    assert.deepEqual(requests, []);
    assert.equal((await pullIfMissing(client, store, ref, "always")).digest, pushed.digest);
    assert.deepEqual((requests as string[]).map((r) => r.split(" ")[0]), ["HEAD"], "always: one HEAD, no download");
  });

  it("'never' fails with NOT_FOUND and no request when the content is absent", async () => {
    const store = await Store.open(join(tmp.path, "c"));
    requests.length = 0;
    await assert.rejects(pullIfMissing(client, store, parseReference(`${reg.host}/pp/app:1`), "never"), (e: Error & { code?: string }) => e.code === "NOT_FOUND" && /never/.test(e.message));
    assert.deepEqual(requests, []);
  });

  it("'always' pulls again when the tag moved, and re-pins", async () => {
    const store = await Store.open(join(tmp.path, "d"));
    const ref = parseReference(`${reg.host}/pp/moving:1`);
    const src = await Store.open(join(tmp.path, "src"));
    const one = await makeImage(src, { layerSizes: [100] });
    await client.push(src, one.manifest, ref);
    await pullIfMissing(client, store, ref, "missing");
    const two = await makeImage(src, { layerSizes: [200] });
    await client.push(src, two.manifest, ref);
    assert.equal((await pullIfMissing(client, store, ref, "missing")).digest, one.manifest.digest, "missing keeps the pin");
    assert.equal((await pullIfMissing(client, store, ref, "always")).digest, two.manifest.digest);
    assert.equal((await store.getPin(pinKey(ref)))?.digest, two.manifest.digest);
    assert.ok(await store.hasBlob(two.layers[0]!.digest));
  });
});
