/**
 * Parity with another implementation on a context with a tricky
 * .dockerignore, copied whole: lading keeps exactly the files buildah
 * keeps. (The whole Containerfile corpus is compared with buildah by the
 * compatibility runner: compat-runner.test.ts.)
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { connect, type Client } from "../../src/api/client.js";
import { buildContainerfile } from "../../src/frontends/containerfile/index.js";
import { tempDir } from "../helpers/tmp.js";
import { has, run } from "../helpers/tools.js";

const skipAll = !has("buildah") ? "buildah is not installed" : process.getuid?.() !== 0 ? "buildah's vfs storage here needs root" : false;
const tmp = tempDir();
let client: Client;
const buildahRoot = ["--root", join(tmp.path, "buildah", "root"), "--runroot", join(tmp.path, "buildah", "run"), "--storage-driver", "vfs"];

before(async () => {
  client = await connect({ store: join(tmp.path, "store") });
});
after(async () => {
  await client.close();
  tmp.cleanup();
});

/** path → "type mode uid:gid content-hash" for every entry below `root`. */
function snapshot(root: string, rel = "", out: Record<string, string> = {}): Record<string, string> {
  for (const n of readdirSync(join(root, rel)).sort()) {
    const r = rel ? `${rel}/${n}` : n;
    const p = join(root, r);
    const s = lstatSync(p);
    const meta = `${(s.mode & 0o7777).toString(8)} ${s.uid}:${s.gid}`;
    if (s.isDirectory()) {
      out[r + "/"] = `dir ${meta}`;
      snapshot(root, r, out);
    } else if (s.isSymbolicLink()) out[r] = `symlink ${readlinkSync(p)}`;
    else out[r] = `file ${meta} ${createHash("sha256").update(readFileSync(p)).digest("hex")}`;
  }
  return out;
}

/** Builds with buildah and with lading; returns both unpacked root filesystems. */
async function buildBoth(name: string, file: string, context: string) {
  const work = join(tmp.path, "cases", name);
  mkdirSync(work, { recursive: true });
  const tag = `parity-${name}`;
  run("buildah", [...buildahRoot, "bud", "-q", "--layers=false", "-f", file, "-t", tag, context]);
  run("buildah", [...buildahRoot, "push", tag, `oci:${join(work, "buildah")}:t`]);
  run("umoci", ["unpack", "--image", `${join(work, "buildah")}:t`, join(work, "buildah-bundle")]);
  const c = await buildContainerfile(client, { file, context });
  await c.exportLayout(join(work, "lading"), { tag: "t" });
  run("umoci", ["unpack", "--image", `${join(work, "lading")}:t`, join(work, "lading-bundle")]);
  return { buildah: { files: snapshot(join(work, "buildah-bundle", "rootfs")) }, lading: { files: snapshot(join(work, "lading-bundle", "rootfs")) } };
}

test("a tricky .dockerignore keeps exactly what buildah keeps", { skip: skipAll }, async () => {
  const ctx = join(tmp.path, "ignore-ctx");
  const files = [
    "a.txt", "b.md", "README.md", "docs/x.md", "docs/keep.md", "docs/sub/y.md", "src/main.ts", "src/lib/util.ts", "src/lib/util.test.ts",
    "build/out.js", "build/keep/me.js", "node_modules/pkg/index.js", ".git/HEAD", "weird [x].txt", "dir.with.dots/f",
    "deep/a/b/c/keep.txt", "deep/a/b/c/drop.txt", "logs/1.log", "logs/important.log", "sub/logs/2.log",
  ];
  for (const f of files) {
    mkdirSync(dirname(join(ctx, f)), { recursive: true });
    writeFileSync(join(ctx, f), f);
  }
  writeFileSync(
    join(ctx, ".dockerignore"),
    "# comment\n*.md\n!README.md\ndocs\n!docs/keep.md\n**/*.test.ts\nbuild\n!build/keep\nnode_modules/\n.git\n/logs/*.log\n!logs/important.log\ndeep/**/drop.txt\nweird \\[x\\].txt\n./dir.with.dots/\n",
  );
  const file = join(tmp.path, "ignore.Containerfile");
  writeFileSync(file, "FROM scratch\nCOPY . /ctx/\n");
  const r = await buildBoth("ignore", file, ctx);
  assert.deepEqual(Object.keys(r.lading.files), Object.keys(r.buildah.files));
  assert.ok(r.lading.files["ctx/docs/keep.md"] && !r.lading.files["ctx/docs/x.md"] && r.lading.files["ctx/sub/logs/2.log"], "the expectations themselves are not empty");
});
