import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync, readdirSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { connect, LadingError, type Client } from "../../src/index.js";
import { makeBusyboxLayout, type TestImage } from "../helpers/images.js";
import { tempDir } from "../helpers/tmp.js";
import { validateArchive } from "../helpers/validate.js";
import { podmanArgs, run } from "../helpers/tools.js";

const t = tempDir("lading-api-");
let busybox: TestImage;
let client: Client;

before(async () => {
  busybox = await makeBusyboxLayout(join(t.path, "busybox"));
  client = await connect({ store: join(t.path, "store") });
});
after(async () => {
  await client?.close();
  t.cleanup();
});

test("from an OCI layout, add files, export: skopeo, umoci and the schemas accept it", async () => {
  const ctx = join(t.path, "ctx1");
  mkdirSync(join(ctx, "sub"), { recursive: true });
  writeFileSync(join(ctx, "a.txt"), "alpha\n");
  writeFileSync(join(ctx, "sub", "run.sh"), "#!/bin/sh\necho hi\n");
  chmodSync(join(ctx, "sub", "run.sh"), 0o755);
  writeFileSync(join(ctx, "skip.log"), "nope");
  const c = client
    .container()
    .from(busybox.ref)
    .withNewFile("/etc/motd", "welcome\n", { permissions: 0o600, owner: "app" })
    .withDirectory("/app", client.host().directory(ctx, { exclude: ["*.log"] }))
    .withEnvVariable("MODE", "test")
    .withWorkdir("/app")
    .withLabel("org.example.k", "v")
    .withAnnotation("org.example.note", "annotated")
    .withEntrypoint(["/app/sub/run.sh"]);
  const out = join(t.path, "img1.tar");
  await c.export(out, { tag: "api-test:1" });
  const report = await validateArchive(out, join(t.path, "img1"));
  assert.equal(report.layers, 3);
  assert.deepEqual(report.layerPaths[1], ["etc/motd"]);
  assert.deepEqual(report.layerPaths[2], ["app/a.txt", "app/sub/", "app/sub/run.sh"]);

  const raw = JSON.parse(run("skopeo", ["inspect", "--raw", `oci-archive:${out}:api-test:1`]));
  assert.equal(raw.annotations["org.example.note"], "annotated");
  const index = JSON.parse(readFileSync(join(t.path, "img1", "index.json"), "utf8"));
  assert.equal(index.manifests[0].annotations["org.opencontainers.image.ref.name"], "api-test:1");
  assert.equal(index.manifests[0].annotations["org.example.note"], "annotated");

  const bundle = join(t.path, "bundle1");
  run("umoci", ["unpack", ...(process.getuid?.() === 0 ? [] : ["--rootless"]), "--image", `${join(t.path, "img1")}:api-test:1`, bundle]);
  const rootfs = join(bundle, "rootfs");
  assert.equal(readFileSync(join(rootfs, "app", "a.txt"), "utf8"), "alpha\n");
  assert.ok(!existsSync(join(rootfs, "app", "skip.log")));
  assert.ok(existsSync(join(rootfs, "bin", "busybox")));
  const config = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
  assert.ok(config.process.env.includes("MODE=test"));
  assert.equal(config.process.cwd, "/app");
  if (process.getuid?.() === 0) {
    const st = run("stat", ["-c", "%u:%g %a", join(rootfs, "etc", "motd")]).trim();
    assert.equal(st, "1000:1000 600");
  }
  assert.equal(await c.digest(), raw && JSON.parse(run("skopeo", ["inspect", `oci-archive:${out}:api-test:1`])).Digest);

  assert.match(run("oci-image-tool", ["validate", "--type", "image", "--ref", "name=api-test:1", join(t.path, "img1")]), /Validation succeeded/);
  const pm = join(t.path, "podman");
  const loaded = run("podman", [...podmanArgs(join(pm, "root"), join(pm, "run")), "load", "-i", out]);
  assert.match(loaded, /Loaded image: .*api-test:1/);
  const pmInspect = JSON.parse(run("podman", [...podmanArgs(join(pm, "root"), join(pm, "run")), "image", "inspect", "localhost/api-test:1"]));
  assert.deepEqual(pmInspect[0].Config.Entrypoint, ["/app/sub/run.sh"]);
});

test("an owner also owns the destination's parents the image lacks; parents it has keep theirs (as BuildKit and buildah)", async () => {
  const ctx = join(t.path, "owned-parents");
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, "f.txt"), "f\n");
  const c = client
    .container()
    .from(busybox.ref)
    .withDirectory("/usr/local/lib/x", client.host().directory(ctx), { owner: "10:20" })
    .withNewFile("/home/app/new/g.txt", "g\n", { owner: "10:20" })
    .withFile("/srv/one/two.txt", client.host().file(join(ctx, "f.txt")));
  const out = join(t.path, "owned-parents.tar");
  await c.export(out, { tag: "owned:1" });
  const report = await validateArchive(out, join(t.path, "owned-parents-layout"));
  const layout = join(t.path, "owned-parents-layout");
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
  const manifest = JSON.parse(readFileSync(join(layout, "blobs", "sha256", index.manifests[0].digest.slice(7)), "utf8"));
  // GNU tar's listing of each new layer: "mode uid/gid … path".
  const listing = (i: number) =>
    run("tar", ["--numeric-owner", "-tvzf", join(layout, "blobs", "sha256", manifest.layers[i].digest.slice(7))])
      .trim()
      .split("\n")
      .map((l) => { const f = l.split(/\s+/); return `${f[0]} ${f[1]} ${f.slice(5).join(" ")}`; });
  assert.equal(report.layers, 4);
  // /usr exists in busybox (root): not written; /usr/local and /usr/local/lib are new: the owner's.
  assert.deepEqual(listing(1), ["drwxr-xr-x 10/20 usr/local/", "drwxr-xr-x 10/20 usr/local/lib/", "drwxr-xr-x 10/20 usr/local/lib/x/", "-rw-r--r-- 10/20 usr/local/lib/x/f.txt"]);
  // /home/app exists (1000:1000) and keeps its owner; only the new dir is written.
  assert.deepEqual(listing(2), ["drwxr-xr-x 10/20 home/app/new/", "-rw-r--r-- 10/20 home/app/new/g.txt"]);
  // Without an owner, missing parents are left to the extractor (root, 0755), as before.
  assert.deepEqual(listing(3).map((l) => l.split(" ").pop()), ["srv/one/two.txt"]);
});

test("metadata steps add no layer and the getters see them", async () => {
  const base = client.container().from(busybox.ref);
  const c = base.withEnvVariable("A", "1").withEnvVariable("B", "2").withoutEnvVariable("A").withUser("app").withExposedPort(8080).withDefaultArgs(["serve"]);
  assert.equal(await c.layerCount(), await base.layerCount());
  assert.equal(await c.envVariable("A"), null);
  assert.equal(await c.envVariable("B"), "2");
  assert.equal(await c.user(), "app");
  assert.deepEqual(await c.exposedPorts(), ["8080/tcp"]);
  assert.deepEqual(await c.defaultArgs(), ["serve"]);
  // an untouched image keeps its exact manifest
  assert.equal(await base.digest(), busybox.manifestDigest);
});

test("files read back: file().contents(), directory().entries(), withoutFile", async () => {
  const c = client.container().from(busybox.ref).withNewFile("/data/x.txt", "xyz").withNewFile("/data/y.txt", "y");
  assert.equal(await c.file("/data/x.txt").contents(), "xyz");
  assert.deepEqual(await c.directory("/data").entries(), ["x.txt", "y.txt"]);
  const d = c.withoutFile("/data/x.txt");
  assert.deepEqual(await d.directory("/data").entries(), ["y.txt"]);
  assert.equal(await d.file("/etc/passwd").contents().then((s) => s.startsWith("root:")), true);
  await assert.rejects(d.file("/data/x.txt").contents(), (e: unknown) => e instanceof LadingError && e.code === "NOT_FOUND");
});

test("directory().glob(): the same pattern rules as .dockerignore, directories marked with /, malformed patterns refused", async () => {
  const d = client.container().from(busybox.ref).withNewFile("/g/src/a.ts", "a").withNewFile("/g/src/sub/b.ts", "b").withNewFile("/g/src/c.js", "c").withNewFile("/g/top.ts", "t").directory("/g");
  assert.deepEqual(await d.glob("**/*.ts"), ["src/a.ts", "src/sub/b.ts", "top.ts"]);
  assert.deepEqual(await d.glob("src/*"), ["src/a.ts", "src/c.js", "src/sub/"]);
  assert.deepEqual(await d.glob("src/**"), ["src/a.ts", "src/c.js", "src/sub/", "src/sub/b.ts"]);
  assert.deepEqual(await d.glob("src/[ab].?s"), ["src/a.ts"]);
  assert.deepEqual(await d.glob("top.ts"), ["top.ts"]);
  await assert.rejects(d.glob("src/[a"), (e: unknown) => e instanceof LadingError && e.code === "INVALID_ARGUMENT" && /malformed/.test(e.message));
});

test("a failed export leaves no file and the API errors are LadingErrors", async () => {
  const out = join(t.path, "never.tar");
  await assert.rejects(client.container().from(join(t.path, "does-not-exist")).export(out), (e: unknown) => e instanceof LadingError);
  assert.ok(!existsSync(out));
  assert.deepEqual(readdirSync(t.path).filter((n) => n.includes("never")), []);
  assert.throws(() => client.container().withExposedPort(70000), (e: unknown) => e instanceof LadingError && e.code === "INVALID_ARGUMENT");
  await assert.rejects(client.container().from(busybox.ref).stdout(), /no command has been set/);
});

test("import(): an exported tarball comes back with the same digest", async () => {
  const c = client.container().from(busybox.ref).withNewFile("/hello", "hello");
  const out = join(t.path, "rt.tar");
  await c.export(out);
  const back = client.container().import(client.host().file(out));
  assert.equal(await back.digest(), await c.digest());
  assert.equal(await back.file("/hello").contents(), "hello");
  const viaAddress = client.container().from(`oci-archive:${out}`);
  assert.equal(await viaAddress.digest(), await c.digest());
});

test("tag() names an image in the store; from(name) finds it with no registry", async () => {
  const c = client.container().from(busybox.ref).withNewFile("/tagged", "1");
  const digest = await c.tag("localtest/app:1");
  assert.equal(await client.container().from("localtest/app:1").digest(), digest);
  const names = (await client.images()).map((i) => i.name);
  assert.ok(names.some((n) => n.includes("localtest/app:1")));
  // the store is an OCI layout skopeo reads by that name
  const stored = names.find((n) => n.includes("localtest/app:1"))!;
  const raw = JSON.parse(run("skopeo", ["inspect", "--raw", `oci:${client.storePath}:${stored}`]));
  assert.equal(raw.layers.length, 2);
});

test("a changed host file is seen on the next build even when its size and mtime are restored", async () => {
  const ctx = join(t.path, "hc");
  mkdirSync(ctx);
  const f = join(ctx, "f.txt");
  writeFileSync(f, "aaaa");
  utimesSync(f, 1_600_000_000, 1_600_000_000);
  const build = async () => {
    const c2 = await connect({ store: join(t.path, "store") });
    try {
      return await c2.container().withDirectory("/", c2.host().directory(ctx)).digest();
    } finally {
      await c2.close();
    }
  };
  const d1 = await build();
  assert.equal(await build(), d1);
  writeFileSync(f, "bbbb");
  utimesSync(f, 1_600_000_000, 1_600_000_000);
  assert.notEqual(await build(), d1);
});
