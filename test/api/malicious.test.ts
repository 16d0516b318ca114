// Hostile layers: each one is unpacked into a jail inside a directory of
// sentinel files, through the extractor itself (as root and as an ordinary
// user) and through the public API (from() an OCI layout, then reading the
// root filesystem back). Whatever the layer says, every path, mode, owner
// and byte around the jail must be as it was, and the outcome must be the
// defined one: UNSAFE_ARCHIVE for names that climb with "..", as
// containerd refuses "breakout" entries; otherwise links are followed with
// the root as "/" (containerd's and moby's chroot semantics), so the bytes
// land inside the root, at the place the case names.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { connect, LadingError } from "../../src/index.js";
import { extractLayer } from "../../src/oci/extract.js";
import { tempDir } from "../helpers/tmp.js";
import { arena, cases, checkRoot, craft, hostState, snapshot, storeArena, type Seen } from "./hostile-layers.js";

const t = tempDir("lading-evil-");
after(t.cleanup);

function lookOnDisk(root: string) {
  return async (path: string): Promise<Seen> => {
    let st;
    try {
      st = lstatSync(join(root, path));
    } catch {
      return null;
    }
    if (st.isSymbolicLink()) return { link: readlinkSync(join(root, path)) };
    if (st.isDirectory()) return { dir: true };
    return readFileSync(join(root, path), "utf8");
  };
}

function codeOf(err: unknown): string {
  assert.ok(err instanceof LadingError, `expected a LadingError, got ${String(err)}`);
  return err.code;
}

for (const c of cases) {
  test(`extractor, as root: ${c.name}`, async () => {
    const { base, outside, jailParent } = arena(t.path, ["jail"]);
    const root = join(jailParent, "root");
    mkdirSync(root);
    const aim = { outside, up: "../.." };
    const before = snapshot(base, [root]);
    const host = hostState();
    const want = c.expect(aim);
    let error: string | undefined;
    try {
      for (const layer of c.layers(aim)) await extractLayer(Readable.from([await craft(layer)]), root, { applyWhiteouts: true });
    } catch (err) {
      error = codeOf(err);
    }
    assert.deepEqual(snapshot(base, [root]), before, "nothing outside the extraction root may change");
    assert.equal(hostState(), host);
    if ("error" in want) assert.equal(error, want.error);
    else {
      assert.equal(error, undefined);
      await checkRoot(want.root, lookOnDisk(root));
    }
  });
}

const distRoot = fileURLToPath(new URL("../../", import.meta.url));
const NOBODY = 65534;
// The unprivileged child loads lading from this checkout: impossible when the checkout is private (a clone under /root).
const childCanLoad =
  process.getuid?.() !== 0 ? "needs root to start a child as uid 65534" : spawnSync("test", ["-r", join(distRoot, "src/oci/extract.js")], { uid: NOBODY, gid: NOBODY }).status === 0 ? false : "this checkout is not readable by uid 65534";

for (const c of cases) {
  test(`extractor, as an ordinary user: ${c.name}`, { skip: childCanLoad }, async () => {
    const { base, outside, jailParent } = arena(t.path, ["jail"], NOBODY);
    const root = join(jailParent, "root");
    mkdirSync(root);
    chownSync(root, NOBODY, NOBODY);
    // The child must be able to reach the root (mkdtemp makes 0700 dirs).
    chmodSync(t.path, 0o755);
    const aim = { outside, up: "../.." };
    const tars = join(base, "tars");
    mkdirSync(tars);
    const files: string[] = [];
    for (const [i, layer] of c.layers(aim).entries()) {
      files.push(join(tars, `${i}.tar`));
      writeFileSync(files.at(-1)!, await craft(layer));
    }
    const before = snapshot(base, [root]);
    const host = hostState();
    const script = `import(${JSON.stringify(join(distRoot, "src/oci/extract.js"))}).then(async (m) => {
       const { createReadStream } = await import("node:fs");
       try { for (const f of ${JSON.stringify(files)}) await m.extractLayer(createReadStream(f), ${JSON.stringify(root)}, { applyWhiteouts: true }); console.log("ok"); }
       catch (e) { console.log(e.code ?? e.message); }
     })`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { uid: NOBODY, gid: NOBODY, encoding: "utf8" });
    assert.deepEqual(snapshot(base, [root]), before, "nothing outside the extraction root may change");
    assert.equal(hostState(), host);
    const want = c.expect(aim);
    assert.equal(r.stdout.trim(), "error" in want ? want.error : "ok", r.stderr);
    if ("root" in want) await checkRoot(want.root, lookOnDisk(root));
  });
}

for (const c of cases) {
  test(`public API, from() then exporting and reading the root filesystem: ${c.name}`, async () => {
    // The root is unpacked at <store>/lading/rootfs/<chain id>.
    const { store, exportDir, src, want, assertUntouched } = await storeArena(t.path, c, 3);
    const client = await connect({ store });
    try {
      const ctr = client.container().from(src);
      const rootfs = ctr.rootfs();
      let error: string | undefined;
      try {
        await rootfs.entries();
      } catch (err) {
        error = codeOf(err);
      }
      if ("error" in want) assert.equal(error, want.error);
      else {
        assert.equal(error, undefined);
        // What a user gets back: the root filesystem exported, and a file read through the API.
        await rootfs.export(exportDir);
        await checkRoot(want.root, lookOnDisk(exportDir));
        const file = Object.entries(want.root).find(([, v]) => typeof v === "string");
        if (file) assert.equal(await ctr.file("/" + file[0]).contents(), file[1]);
      }
    } finally {
      await client.close();
    }
    assertUntouched();
  });
}
