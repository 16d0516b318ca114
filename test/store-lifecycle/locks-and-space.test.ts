import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import lockfile from "proper-lockfile";
import { Store } from "../../src/store/store.js";
import { LadingError } from "../../src/errors.js";
import { MediaType } from "../../src/oci/mediatypes.js";
import { writeLayer } from "../../src/oci/layer-writer.js";
import { fsck } from "../../src/store/fsck.js";
import { tempDir } from "../helpers/tmp.js";
import { tmpfsMounts } from "../helpers/tmpfs.js";

const t = tempDir("lading-locks-");
const tmpfs = tmpfsMounts();
after(() => {
  tmpfs.unmountAll();
  t.cleanup();
});

const storeModule = fileURLToPath(new URL("../../src/store/store.js", import.meta.url));

test("a lock held by a SIGKILLed process is broken once stale, and the store works on", async () => {
  const root = join(t.path, "locked");
  const store = await Store.open(root);
  const script = `
    const { Store } = await import(${JSON.stringify(storeModule)});
    const s = await Store.open(${JSON.stringify(root)});
    await s.withLock("index", async () => { process.stdout.write("locked\\n"); await new Promise(() => setInterval(() => {}, 1000)); });
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((res, rej) => {
    child.stdout.on("data", (c: Buffer) => c.toString().includes("locked") && res());
    child.on("exit", (code) => rej(new Error(`lock holder exited early (${code})`)));
  });
  const lockTarget = join(root, "lading", "locks", "index");
  assert.equal(await lockfile.check(lockTarget, { realpath: false, stale: 10_000 }), true, "a live holder's lock is respected");
  const exited = new Promise((res) => child.once("exit", res));
  process.kill(child.pid!, "SIGKILL");
  await exited;
  // The dead holder never released it: tag() must wait for the lock to go stale, then break it.
  const blob = await store.putJson({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] });
  await store.tag("after-crash", { mediaType: MediaType.ociIndex, digest: blob.digest, size: blob.size });
  assert.equal((await store.resolveName("after-crash"))?.digest, blob.digest);
  assert.equal(await lockfile.check(lockTarget, { realpath: false, stale: 10_000 }), false, "released after use");
});

test("a full disk during a blob write is NO_SPACE, leaves no partial blob, and the store stays usable", async (ctx) => {
  if (process.getuid?.() !== 0) {
    ctx.skip("needs root to mount a small tmpfs (mount -t tmpfs -o size=4m)");
    console.log("# skipped ENOSPC test: not root, cannot mount a tmpfs");
    return;
  }
  const mnt = tmpfs.mount(join(t.path, "tiny"), "4m");
  const store = await Store.open(join(mnt, "store"));
  const before = await store.putBlob("small blob before");
  const isNoSpace = (e: unknown) => e instanceof LadingError && e.code === "NO_SPACE" && /no space left/.test(e.message);
  // streamed
  const big = randomBytes(6 * 1024 * 1024);
  await assert.rejects(store.putBlob(Readable.from([big.subarray(0, 3e6), big.subarray(3e6)])), isNoSpace);
  // from memory
  await assert.rejects(store.putBlob(big), isNoSpace);
  // a gzip layer, which the compressor writes itself (big enough for its worker threads)
  const layer = [{ path: "noise", type: "file" as const, mode: 0o644, uid: 0, gid: 0, size: big.length, open: () => Readable.from([big]) }];
  await assert.rejects(writeLayer(store, layer), isNoSpace);
  assert.deepEqual(readdirSync(join(store.root, "blobs", "sha256")), [before.digest.slice(7)], "no partial blob");
  assert.deepEqual(readdirSync(join(store.root, "lading", "tmp")), [], "no temp file left");
  // usable: writes that fit succeed, reads verify, fsck is clean
  const after = await store.putBlob(randomBytes(100_000));
  assert.equal((await store.readBlob(after.digest)).length, 100_000);
  await store.putCached(after.digest, { layer: { diffId: after.digest, descriptor: { mediaType: MediaType.ociLayer, digest: after.digest, size: after.size } } });
  const r = await fsck(store);
  assert.equal(r.ok, true, JSON.stringify(r.problems));
});
