import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Store } from "../../src/store/store.js";
import { RegistryClient, type RegistryOptions } from "../../src/registry/client.js";
import { parseReference } from "../../src/registry/reference.js";
import { login, logout } from "../../src/registry/login.js";
import { sha256 } from "../../src/oci/digest.js";
import { startRegistry, type RegistryHandle } from "../helpers/registry.js";
import { tempDir } from "../helpers/tmp.js";
import { execFileP, run } from "../helpers/tools.js";
import { makeImage } from "./images.js";
import { startProxy } from "./proxy.js";

const HELPERS = fileURLToPath(new URL("../../../fixtures/credential-helpers", import.meta.url));
const USER = "bob";
const PASS = "s3cret-Pa55word-do-not-leak";

/** Pushes a fresh image with `opts` and pulls it back into a new store; returns the manifest digest pulled. */
async function pushPull(tmp: string, host: string, repo: string, opts: RegistryOptions): Promise<string> {
  const store = await Store.open(join(tmp, `s-${Math.random().toString(16).slice(2)}`));
  const img = await makeImage(store, { layerSizes: [3000] });
  const c = new RegistryClient({ retryBaseDelayMs: 10, ...opts });
  try {
    await c.push(store, img.manifest, parseReference(`${host}/${repo}:1`));
    const fresh = await Store.open(join(tmp, `p-${Math.random().toString(16).slice(2)}`));
    const got = await c.pull(parseReference(`${host}/${repo}:1`), fresh);
    assert.equal(got.manifest.digest, img.manifest.digest);
    return got.manifest.digest;
  } finally {
    await c.close();
  }
}

function assertNoSecret(e: unknown): void {
  const all = JSON.stringify(e, Object.getOwnPropertyNames(e)) + String((e as Error).stack) + String((e as Error).cause ? JSON.stringify((e as Error).cause, Object.getOwnPropertyNames((e as Error).cause)) : "");
  assert.ok(!all.includes(PASS), "the secret appears in the error");
  assert.ok(!all.includes(Buffer.from(`${USER}:${PASS}`).toString("base64")), "the encoded secret appears in the error");
}

describe("registry auth: htpasswd (Basic)", () => {
  let reg: RegistryHandle;
  const tmp = tempDir("lading-reg-basic-");
  const savedPath = process.env.PATH;
  before(async () => {
    reg = await startRegistry({ htpasswd: { user: USER, pass: PASS } });
    process.env.PATH = `${HELPERS}:${savedPath}`;
  });
  after(async () => {
    process.env.PATH = savedPath;
    await reg?.stop();
    tmp.cleanup();
  });
  const isolated = { authFile: join(tmp.path, "none.json") };

  it("without credentials: an AUTH error that says to log in", async () => {
    const c = new RegistryClient(isolated);
    try {
      await assert.rejects(c.resolve(parseReference(`${reg.host}/b/x:1`)), (e: Error & { code?: string }) => e.code === "AUTH" && /lading login/.test(e.message));
    } finally {
      await c.close();
    }
  });

  it("explicit credentials push and pull; skopeo with the same credentials sees the image", async () => {
    const d = await pushPull(tmp.path, reg.host, "b/explicit", { ...isolated, auth: [{ registry: reg.host, username: USER, secret: PASS }] });
    const raw = run("skopeo", ["inspect", "--raw", "--tls-verify=false", "--creds", `${USER}:${PASS}`, `docker://${reg.host}/b/explicit:1`]);
    assert.equal(sha256(raw), d);
  });

  it("a wrong secret is an AUTH error carrying no credential", async () => {
    const c = new RegistryClient({ ...isolated, auth: [{ registry: reg.host, username: USER, secret: PASS + "x" }] });
    const store = await Store.open(join(tmp.path, "wrong"));
    const img = await makeImage(store);
    try {
      await assert.rejects(c.push(store, img.manifest, parseReference(`${reg.host}/b/wrong:1`)), (e: Error & { code?: string }) => {
        assert.equal(e.code, "AUTH");
        assertNoSecret(e);
        return true;
      });
    } finally {
      await c.close();
    }
  });

  it("reads auth.json; explicit credentials win over it", async () => {
    const authFile = join(tmp.path, "auth.json");
    writeFileSync(authFile, JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${USER}:${PASS}`).toString("base64") } } }));
    await pushPull(tmp.path, reg.host, "b/authjson", { authFile });
    const bad = join(tmp.path, "bad-auth.json");
    writeFileSync(bad, JSON.stringify({ auths: { [`https://${reg.host}`]: { auth: Buffer.from(`${USER}:nope`).toString("base64") } } }));
    await pushPull(tmp.path, reg.host, "b/explicitwins", { authFile: bad, auth: [{ registry: reg.host, username: USER, secret: PASS }] });
  });

  it("auth.json comes before docker's config.json", async () => {
    const authFile = join(tmp.path, "order-auth.json");
    writeFileSync(authFile, JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${USER}:${PASS}`).toString("base64") } } }));
    const dir = join(tmp.path, "order-docker");
    mkdirSync(dir);
    writeFileSync(join(dir, "config.json"), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${USER}:wrong`).toString("base64") } } }));
    await pushPull(tmp.path, reg.host, "b/order", { authFile, dockerConfigDir: dir });
  });

  it("asks the credential helper named in credHelpers (the get protocol)", async () => {
    const dir = join(tmp.path, "helper-docker");
    mkdirSync(dir);
    const db = join(tmp.path, "helper-db.json");
    const log = join(tmp.path, "helper.log");
    writeFileSync(db, JSON.stringify({ [reg.host]: { Username: USER, Secret: PASS } }));
    writeFileSync(join(dir, "config.json"), JSON.stringify({ credHelpers: { [reg.host]: "lading-test" } }));
    process.env.LADING_TEST_HELPER_STORE = db;
    process.env.LADING_TEST_HELPER_LOG = log;
    try {
      await pushPull(tmp.path, reg.host, "b/helper", { dockerConfigDir: dir });
      assert.match(readFileSync(log, "utf8"), new RegExp(`^get ${reg.host}$`, "m"));
    } finally {
      delete process.env.LADING_TEST_HELPER_STORE;
      delete process.env.LADING_TEST_HELPER_LOG;
    }
  });

  it("login verifies and stores like docker (config.json auths, or the credsStore helper); logout removes", async () => {
    const dir = join(tmp.path, "login-docker");
    await assert.rejects(login(reg.host, USER, "wrong", { dockerConfigDir: dir }), (e: Error & { code?: string }) => e.code === "AUTH" && !e.message.includes("wrong\""));
    assert.equal(existsSync(join(dir, "config.json")), false, "a refused login stores nothing");
    await login(reg.host, USER, PASS, { dockerConfigDir: dir });
    const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    assert.equal(Buffer.from(cfg.auths[reg.host].auth, "base64").toString(), `${USER}:${PASS}`);
    await pushPull(tmp.path, reg.host, "b/login", { dockerConfigDir: dir });
    assert.equal(await logout(reg.host, { dockerConfigDir: dir }), true);
    assert.equal(await logout(reg.host, { dockerConfigDir: dir }), false);

    const sdir = join(tmp.path, "login-store");
    mkdirSync(sdir);
    writeFileSync(join(sdir, "config.json"), JSON.stringify({ credsStore: "lading-test" }));
    const db = join(tmp.path, "store-db.json");
    process.env.LADING_TEST_HELPER_STORE = db;
    try {
      await login(reg.host, USER, PASS, { dockerConfigDir: sdir });
      assert.ok(!readFileSync(join(sdir, "config.json"), "utf8").includes(Buffer.from(`${USER}:${PASS}`).toString("base64")), "the secret went to the helper, not the file");
      assert.equal(JSON.parse(readFileSync(db, "utf8"))[reg.host].Secret, PASS);
      await pushPull(tmp.path, reg.host, "b/credsstore", { dockerConfigDir: sdir });
      assert.equal(await logout(reg.host, { dockerConfigDir: sdir }), true);
      assert.deepEqual(JSON.parse(readFileSync(db, "utf8")), {});
    } finally {
      delete process.env.LADING_TEST_HELPER_STORE;
    }
  });

  it("never forwards Authorization to another host on a redirect", async () => {
    // Server B plays object storage on another loopback address: it must see no Authorization,
    // and fetches the blob from the registry itself (like a pre-signed URL would allow).
    const basic = `Basic ${Buffer.from(`${USER}:${PASS}`).toString("base64")}`;
    const storage = await startProxy(reg.host, (req) => {
      req.headers.authorization = basic;
      return false;
    }, "127.0.0.2");
    const front = await startProxy(reg.host, (req, res) => {
      if (req.method === "GET" && /\/blobs\/sha256:/.test(req.url ?? "") && req.headers.authorization) {
        res.writeHead(307, { location: `http://${storage.host}${req.url}` }).end();
        return true;
      }
    });
    try {
      // storage's hook sets the header itself, so record what arrived before it did
      const arrived: Array<string | undefined> = [];
      const origPush = storage.seen.push.bind(storage.seen);
      storage.seen.push = (...items) => {
        for (const i of items) arrived.push(i.headers.authorization);
        return origPush(...items);
      };
      await pushPull(tmp.path, front.host, "b/redirect", { ...isolated, auth: [{ registry: front.host, username: USER, secret: PASS }] });
      assert.ok(arrived.length >= 2, "blob downloads went through the redirect");
      assert.deepEqual(arrived.filter((a) => a !== undefined), [], "no Authorization reached the other host");
      assert.ok(front.seen.some((s) => s.headers.authorization), "the registry host itself did get credentials");
    } finally {
      await front.stop();
      await storage.stop();
    }
  });
});

describe("registry auth: bearer tokens from a token server", () => {
  let reg: RegistryHandle;
  const tmp = tempDir("lading-reg-token-");
  before(async () => {
    reg = await startRegistry({ token: { user: USER, pass: PASS, anonymousPull: true } });
  });
  after(async () => {
    await reg?.stop();
    tmp.cleanup();
  });
  const isolated = { authFile: join(tmp.path, "none.json") };

  it("pushes with credentials, caching one token per scope; pulls anonymously", async () => {
    const store = await Store.open(join(tmp.path, "tok"));
    const img = await makeImage(store, { layerSizes: [1000, 2000, 3000] });
    const c = new RegistryClient({ ...isolated, auth: [{ registry: reg.host, username: USER, secret: PASS }] });
    reg.tokenRequests.length = 0;
    try {
      await c.push(store, img.manifest, parseReference(`${reg.host}/t/app:1`));
    } finally {
      await c.close();
    }
    assert.equal(reg.tokenRequests.length, 1, `one token for the whole push, got ${JSON.stringify(reg.tokenRequests)}`);
    assert.deepEqual(reg.tokenRequests[0]!.scopes, ["repository:t/app:pull,push"]);
    assert.equal(reg.tokenRequests[0]!.user, USER);
    assert.equal(reg.tokenRequests[0]!.service, "lading-test-registry");

    const anon = new RegistryClient(isolated);
    reg.tokenRequests.length = 0;
    try {
      const got = await anon.pull(parseReference(`${reg.host}/t/app:1`), await Store.open(join(tmp.path, "anon")));
      assert.equal(got.manifest.digest, img.manifest.digest);
    } finally {
      await anon.close();
    }
    assert.equal(reg.tokenRequests.length, 1);
    assert.equal(reg.tokenRequests[0]!.user, undefined, "anonymous: no credentials sent");
    // async: the token server skopeo asks runs in this process, so a blocking exec would deadlock
    const { stdout } = await execFileP("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${reg.host}/t/app:1`]);
    assert.equal(sha256(stdout), img.manifest.digest);
  });

  it("an anonymous push is refused with AUTH; a wrong password too, without leaking it", async () => {
    const store = await Store.open(join(tmp.path, "deny"));
    const img = await makeImage(store);
    for (const opts of [isolated, { ...isolated, auth: [{ registry: reg.host, username: USER, secret: PASS + "!" }] }]) {
      const c = new RegistryClient({ ...opts, retryBaseDelayMs: 10 });
      try {
        await assert.rejects(c.push(store, img.manifest, parseReference(`${reg.host}/t/deny:1`)), (e: Error & { code?: string }) => {
          assert.equal(e.code, "AUTH");
          assertNoSecret(e);
          return true;
        });
      } finally {
        await c.close();
      }
    }
  });

  it("an identity token (username <token>) goes through the OAuth2 refresh-token POST, never as a Basic password", async () => {
    const authFile = join(tmp.path, "identity-auth.json");
    writeFileSync(authFile, JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from("<token>:x").toString("base64"), identitytoken: `refresh-${USER}` } } }));
    reg.tokenRequests.length = 0;
    await pushPull(tmp.path, reg.host, "t/identity", { authFile });
    assert.ok(reg.tokenRequests.length >= 1);
    assert.ok(reg.tokenRequests.every((r) => r.method === "POST" && r.user === USER), JSON.stringify(reg.tokenRequests));
  });

  it("login against a token registry verifies the credentials", async () => {
    const authFile = join(tmp.path, "login-auth.json");
    await login(reg.host, USER, PASS, { authFile });
    await pushPull(tmp.path, reg.host, "t/login", { authFile });
    await assert.rejects(login(reg.host, USER, "bad", { authFile: join(tmp.path, "x.json") }), (e: Error & { code?: string }) => e.code === "AUTH");
  });
});

describe("registry over TLS with a CA made by the test", () => {
  let reg: RegistryHandle;
  const tmp = tempDir("lading-reg-tls-");
  before(async () => {
    reg = await startRegistry({ tls: true });
  });
  after(async () => {
    await reg?.stop();
    tmp.cleanup();
  });

  it("pushes and pulls with the per-registry CA file", async () => {
    const d = await pushPull(tmp.path, reg.host, "tls/app", { caFiles: { [reg.host]: reg.caFile! } });
    assert.equal(sha256(run("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${reg.host}/tls/app:1`])), d);
  });

  it("a loopback registry speaking TLS is found and used without verification, like docker's insecure registries", async () => {
    const d = await pushPull(tmp.path, reg.host, "tls/insecure", {});
    assert.equal(sha256(run("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${reg.host}/tls/insecure:1`])), d);
  });

  it("with a CA file for the registry, a certificate from another CA is refused", async () => {
    const other = await startRegistry({ tls: true });
    try {
      const c = new RegistryClient({ caFiles: { [reg.host]: other.caFile! }, retries: 0 });
      try {
        await assert.rejects(c.resolve(parseReference(`${reg.host}/tls/app:1`)), (e: Error & { code?: string }) => {
          assert.equal(e.code, "NETWORK");
          assert.match(e.message, /TLS to 127\.0\.0\.1:\d+ failed .*CA/);
          return true;
        });
      } finally {
        await c.close();
      }
    } finally {
      await other.stop();
    }
  });
});
