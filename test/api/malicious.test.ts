import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import tar from "tar-stream";
import { connect, LadingError } from "../../src/index.js";
import { Store } from "../../src/store/store.js";
import { HashingStream } from "../../src/oci/digest.js";
import { MediaType } from "../../src/oci/mediatypes.js";
import { tempDir } from "../helpers/tmp.js";
import { hostArch } from "../helpers/images.js";

const t = tempDir("lading-evil-");
after(t.cleanup);

type Entry = { name: string; type?: "file" | "symlink" | "link" | "directory"; linkname?: string; body?: string };

/** An OCI layout whose single layer is exactly `entries` (uncompressed, no sorting or checks). */
async function evilLayout(dir: string, entries: Entry[]): Promise<string> {
  const store = await Store.open(dir);
  const pack = tar.pack();
  for (const e of entries) pack.entry({ name: e.name, type: e.type ?? "file", linkname: e.linkname, mode: e.type === "directory" ? 0o755 : 0o644, mtime: new Date(0) }, e.body ?? "");
  pack.finalize();
  const diff = new HashingStream();
  const layer = await store.putBlob(Readable.from(pack).pipe(diff));
  const cfg = await store.putJson({ architecture: hostArch(), os: "linux", rootfs: { type: "layers", diff_ids: [diff.digest()] }, config: {} });
  const m = await store.putJson({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: cfg.digest, size: cfg.size },
    layers: [{ mediaType: MediaType.ociLayer, digest: layer.digest, size: layer.size }],
  });
  await store.tag("evil", { mediaType: MediaType.ociManifest, digest: m.digest, size: m.size });
  return `oci:${dir}:evil`;
}

const cases: Array<[string, Entry[]]> = [
  ["dot-dot traversal", [{ name: "../../escaped-dotdot", body: "x" }, { name: "ok.txt", body: "ok" }]],
  ["symlink to / then write through it", [{ name: "link", type: "symlink", linkname: "/" }, { name: "link/escaped-symlink", body: "x" }, { name: "ok.txt", body: "ok" }]],
  ["symlink climbing out then write through it", [{ name: "up", type: "symlink", linkname: "../../../../.." }, { name: "up/escaped-climb", body: "x" }, { name: "ok.txt", body: "ok" }]],
  ["hardlink to a file outside", [{ name: "hl", type: "link", linkname: "../../../../etc/hostname" }, { name: "ok.txt", body: "ok" }]],
  ["absolute path", [{ name: "/escaped-abs", body: "x" }, { name: "ok.txt", body: "ok" }]],
  ["duplicate entries: dir replaced by a symlink, then written through", [{ name: "d/", type: "directory" }, { name: "d", type: "symlink", linkname: "/" }, { name: "d/escaped-dup", body: "x" }, { name: "ok.txt", body: "ok" }]],
];

for (const [name, entries] of cases) {
  test(`a malicious image (${name}) read through the API never writes outside its root`, async () => {
    const base = join(t.path, name.replace(/\W+/g, "-"));
    const sentinel = join(base, "a", "b", "c", "d");
    mkdirSync(sentinel, { recursive: true });
    const src = await evilLayout(join(sentinel, "layout"), entries);
    const client = await connect({ store: join(sentinel, "store") });
    try {
      const c = client.container().from(src);
      try {
        const text = await c.file("/ok.txt").contents();
        assert.equal(text, "ok");
      } catch (err) {
        assert.ok(err instanceof LadingError, String(err));
        assert.ok(["UNSAFE_ARCHIVE", "NOT_FOUND"].includes(err.code), `${err.code}: ${err.message}`);
      }
    } finally {
      await client.close();
    }
    for (const dir of [base, join(base, "a"), join(base, "a", "b"), join(base, "a", "b", "c"), sentinel, "/"]) {
      assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith("escaped")), [], `something escaped into ${dir}`);
    }
    assert.ok(!existsSync("/escaped-abs") && !existsSync("/escaped-symlink") && !existsSync("/escaped-dup"));
  });
}
