import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readdirSync, readFileSync } from "node:fs";
import { Store } from "../../src/store/store.js";
import { RegistryClient } from "../../src/registry/client.js";
import { parseReference } from "../../src/registry/reference.js";
import { sha256 } from "../../src/oci/digest.js";
import { startRegistry, type RegistryHandle } from "../helpers/registry.js";
import { tempDir } from "../helpers/tmp.js";
import { run } from "../helpers/tools.js";
import { assertStoreIntact, makeImage } from "./images.js";
import { startProxy, type Hook, type ProxyHandle } from "./proxy.js";

function reply(res: import("node:http").ServerResponse, status: number, headers: Record<string, string>, body = ""): true {
  res.writeHead(status, headers).end(body);
  return true;
}

describe("faults injected between lading and a real registry", () => {
  let reg: RegistryHandle;
  const tmp = tempDir("lading-reg-faults-");
  const proxies: ProxyHandle[] = [];
  before(async () => {
    reg = await startRegistry();
  });
  after(async () => {
    for (const p of proxies) await p.stop();
    await reg?.stop();
    tmp.cleanup();
  });
  const proxy = async (hook: Hook): Promise<ProxyHandle> => {
    const p = await startProxy(reg.host, hook);
    proxies.push(p);
    return p;
  };
  const client = (extra: ConstructorParameters<typeof RegistryClient>[0] = {}): RegistryClient => new RegistryClient({ retryBaseDelayMs: 10, ...extra });

  /** Pushes a fresh image straight to the registry (no faults) and returns it with a store to pull into. */
  async function seed(repo: string, sizes = [50_000]) {
    const src = await Store.open(join(tmp.path, `src-${repo}`));
    const img = await makeImage(src, { layerSizes: sizes });
    const c = client();
    await c.push(src, img.manifest, parseReference(`${reg.host}/${repo}:1`));
    await c.close();
    return img;
  }

  it("resumes a chunked upload at the registry's offset after a connection reset mid-chunk", async () => {
    const p = await proxy((req, _res, ctx) => {
      if (req.method === "PATCH" && ctx.count("patch") === 3) {
        req.once("data", () => req.socket.destroy());
        return true;
      }
    });
    const store = await Store.open(join(tmp.path, "up1"));
    const img = await makeImage(store, { layerSizes: [400_000] });
    const c = client({ chunkSize: 64 * 1024 });
    try {
      assert.equal(await c.push(store, img.manifest, parseReference(`${p.host}/faults/chunky:1`)), img.manifest.digest);
    } finally {
      await c.close();
    }
    const layerUploads = p.seen.filter((s) => s.method === "POST" && s.path.includes("/blobs/uploads/"));
    assert.equal(layerUploads.length, 2, "one session for the config, one for the layer: the layer was resumed, not restarted");
    assert.ok(p.seen.some((s) => s.method === "GET" && s.path.includes("/blobs/uploads/")), "asked the registry how far the upload got");
    const out = join(tmp.path, "up1-out");
    run("skopeo", ["copy", "--src-tls-verify=false", `docker://${reg.host}/faults/chunky:1`, `oci:${out}:1`]);
    assert.equal(sha256(readFileSync(join(out, "blobs", "sha256", img.layers[0]!.digest.slice(7)))), img.layers[0]!.digest);
  });

  it("falls back to one streaming PATCH when the registry refuses ranged chunks", async () => {
    const p = await proxy((req, res) => {
      if (req.method === "PATCH" && req.headers["content-range"]) {
        req.resume();
        return reply(res, 400, { "content-type": "application/json" }, JSON.stringify({ errors: [{ code: "BLOB_UPLOAD_INVALID", message: "chunks not supported" }] }));
      }
    });
    const store = await Store.open(join(tmp.path, "stream"));
    const img = await makeImage(store, { layerSizes: [200_000] });
    const c = client({ chunkSize: 64 * 1024 });
    try {
      await c.push(store, img.manifest, parseReference(`${p.host}/faults/stream:1`));
    } finally {
      await c.close();
    }
    assert.ok(p.seen.some((s) => s.method === "PATCH" && !s.headers["content-range"] && s.headers["content-length"] === String(img.layers[0]!.size)));
    const out = join(tmp.path, "stream-out");
    run("skopeo", ["copy", "--src-tls-verify=false", `docker://${reg.host}/faults/stream:1`, `oci:${out}:1`]);
    assert.equal(sha256(readFileSync(join(out, "blobs", "sha256", img.layers[0]!.digest.slice(7)))), img.layers[0]!.digest);
  });

  it("starts a monolithic upload over after a reset during its PUT", async () => {
    const p = await proxy((req, _res, ctx) => {
      if (req.method === "PUT" && req.url?.includes("/blobs/uploads/") && ctx.count("put") === 1) {
        req.once("data", () => req.socket.destroy());
        return true;
      }
    });
    const store = await Store.open(join(tmp.path, "up2"));
    const img = await makeImage(store, { layerSizes: [30_000] });
    const c = client();
    try {
      await c.push(store, img.manifest, parseReference(`${p.host}/faults/mono:1`));
    } finally {
      await c.close();
    }
    assert.equal(sha256(run("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${reg.host}/faults/mono:1`])), img.manifest.digest);
    run("skopeo", ["copy", "--src-tls-verify=false", `docker://${reg.host}/faults/mono:1`, `oci:${join(tmp.path, "up2-out")}:1`]);
  });

  it("rides out 503 (no Retry-After), 500 with Retry-After and 429 on a pull", async () => {
    const img = await seed("faults/flaky");
    const p = await proxy((req, res, ctx) => {
      if (req.url?.includes("/manifests/") && ctx.count("m") <= 2) return reply(res, 503, {}, "busy");
      if (req.url?.includes("/blobs/") && ctx.count("b") === 1) return reply(res, 500, { "retry-after": "1" });
      if (req.url?.includes("/blobs/") && ctx.count("b2") === 2) return reply(res, 429, { "retry-after": "0" });
    });
    const store = await Store.open(join(tmp.path, "flaky"));
    const c = client();
    try {
      const got = await c.pull(parseReference(`${p.host}/faults/flaky:1`), store);
      assert.equal(got.manifest.digest, img.manifest.digest);
    } finally {
      await c.close();
    }
    assert.ok(p.seen.filter((s) => s.path.includes("/manifests/")).length >= 3);
    await assertStoreIntact(store);
  });

  it("resumes a blob download cut short, with Range, and stores it intact", async () => {
    const img = await seed("faults/cut", [200_000]);
    const layer = img.layers[0]!;
    const p = await proxy((req, _res, ctx) => {
      if (req.method === "GET" && req.url?.endsWith(`/blobs/${layer.digest}`) && ctx.count("cut") === 1) {
        ctx.forward({ cutAfter: 70_000 });
        return true;
      }
    });
    const store = await Store.open(join(tmp.path, "cut"));
    const c = client();
    try {
      await c.pull(parseReference(`${p.host}/faults/cut:1`), store);
    } finally {
      await c.close();
    }
    const ranged = p.seen.filter((s) => s.path.endsWith(`/blobs/${layer.digest}`) && s.headers.range);
    assert.equal(ranged.length, 1, JSON.stringify(p.seen.map((s) => [s.method, s.path.slice(-20), s.headers.range])));
    const from = Number(/^bytes=(\d+)-$/.exec(String(ranged[0]!.headers.range))?.[1]);
    assert.ok(from > 0 && from <= 70_000, `resumed from byte ${from}, after what had arrived`);
    assert.ok(await store.hasBlob(layer.digest, layer.size));
    await assertStoreIntact(store);
  });

  it("refuses a blob whose bytes do not match its digest and stores nothing of it", async () => {
    const img = await seed("faults/evil", [20_000]);
    const layer = img.layers[0]!;
    const p = await proxy((req, _res, ctx) => {
      if (req.method === "GET" && req.url?.endsWith(`/blobs/${layer.digest}`)) {
        ctx.forward({ transform: (b) => Buffer.from(b.map((x, i) => (i === 100 ? x ^ 0xff : x))) });
        return true;
      }
    });
    const store = await Store.open(join(tmp.path, "evil"));
    const c = client();
    try {
      await assert.rejects(c.pull(parseReference(`${p.host}/faults/evil:1`), store), (e: Error & { code?: string }) => {
        assert.equal(e.code, "DIGEST_MISMATCH");
        assert.match(e.message, new RegExp(layer.digest));
        return true;
      });
    } finally {
      await c.close();
    }
    assert.equal(await store.hasBlob(layer.digest), false);
    assert.deepEqual(readdirSync(join(store.root, "lading", "tmp")), [], "no partial download left behind");
    await assertStoreIntact(store);
  });

  it("refuses a manifest whose bytes do not match the digest asked for", async () => {
    const img = await seed("faults/evilm");
    const p = await proxy((req, _res, ctx) => {
      if (req.method === "GET" && req.url?.includes("/manifests/")) {
        ctx.forward({ transform: (b) => Buffer.from(b.toString().replace("{", "{ ")) });
        return true;
      }
    });
    const store = await Store.open(join(tmp.path, "evilm"));
    const c = client();
    try {
      await assert.rejects(c.pull(parseReference(`${p.host}/faults/evilm@${img.manifest.digest}`), store), (e: Error & { code?: string }) => e.code === "DIGEST_MISMATCH");
    } finally {
      await c.close();
    }
    assert.deepEqual(await store.listBlobs(), []);
  });

  it("shows each registry Warning: 299 once and otherwise ignores it", async () => {
    await seed("faults/warn");
    const p = await proxy((req, res, ctx) => {
      ctx.forward();
      const orig = res.writeHead.bind(res);
      res.writeHead = ((status: number, headers?: Record<string, unknown>) => orig(status, { ...headers, warning: '299 - "this repository is deprecated"' })) as typeof res.writeHead;
      return true;
    });
    const warnings: string[] = [];
    const c = client({ onWarning: (t) => warnings.push(t) });
    try {
      await c.pull(parseReference(`${p.host}/faults/warn:1`), await Store.open(join(tmp.path, "warn")));
    } finally {
      await c.close();
    }
    assert.ok(p.seen.length >= 3);
    assert.deepEqual(warnings, ["this repository is deprecated"]);
  });

  it("gives up after a bounded number of tries with a clear, temporary RegistryError", async () => {
    const p = await proxy((req, res) => {
      if (req.method === "PUT" && req.url?.includes("/manifests/")) return reply(res, 503, { "content-type": "application/json" }, JSON.stringify({ errors: [{ code: "UNAVAILABLE", message: "maintenance" }] }));
    });
    const store = await Store.open(join(tmp.path, "down"));
    const img = await makeImage(store);
    const c = client({ retries: 2 });
    try {
      await assert.rejects(c.push(store, img.manifest, parseReference(`${p.host}/faults/down:1`)), (e: Error & { code?: string; statusCode?: number; temporary?: boolean }) => {
        assert.equal(e.code, "REGISTRY");
        assert.equal(e.statusCode, 503);
        assert.equal(e.temporary, true);
        assert.match(e.message, /pushing manifest sha256:[0-9a-f]{64}/);
        assert.match(e.message, /maintenance/);
        return true;
      });
    } finally {
      await c.close();
    }
    assert.equal(p.seen.filter((s) => s.method === "PUT" && s.path.includes("/manifests/")).length, 3);
  });
});
