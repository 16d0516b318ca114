/**
 * Multi-platform builds end to end (issue 18), as root and, in the rootless
 * pass, as an ordinary user: a two-platform busybox base made here, one
 * `lading build --platform <host>,<other>` whose RUN steps run natively and
 * through qemu-user-static (binfmt_misc, F flag), and one image index that
 * -o, --push and the store name all point at.
 */
import { test, before, after } from "node:test";
import { createHash } from "node:crypto";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lading } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { hostArch } from "../helpers/images.js";
import { busyboxDeb, foreignArch, makeTwoPlatformLayout } from "../helpers/multiplatform.js";
import { validateLayout } from "../helpers/validate.js";
import { startRegistry, type RegistryHandle } from "../helpers/registry.js";
import { has, podmanArgs, run } from "../helpers/tools.js";
import { emulationFor } from "../../src/exec/emulation.js";
import { connect } from "../../src/index.js";

const deb = busyboxDeb();
const skip = "missing" in deb ? deb.missing : false;
const t = tempDir("lading-multiplatform-");
const uname: Record<string, string> = { amd64: "x86_64", arm64: "aarch64" };
const host = hostArch();
const other = foreignArch();
let base: string;
let reg: RegistryHandle | undefined;
before(async () => {
  if (skip) return;
  base = await makeTwoPlatformLayout(join(t.path, "base"), (deb as { path: string }).path);
  reg = await startRegistry();
});
after(async () => {
  await reg?.stop();
  t.cleanup();
});

type Json = { manifests: Array<{ digest: string; mediaType: string; size: number; platform?: { os: string; architecture: string }; annotations?: Record<string, string> }>; mediaType: string };
const blob = (layout: string, digest: string) => readFileSync(join(layout, "blobs", "sha256", digest.slice(7)), "utf8");

/** The files `names` of the image for `arch` under the layout's tag, read back with skopeo and umoci. */
function filesOf(layout: string, tag: string, arch: string, names: string[]): string[] {
  const single = join(t.path, `single-${arch}-${names.length}-${Math.random().toString(36).slice(2)}`);
  run("skopeo", ["copy", "-q", "--override-arch", arch, `oci:${layout}:${tag}`, `oci:${single}:x`]);
  const bundle = single + "-bundle";
  run("umoci", ["raw", "unpack", "--rootless", "--image", `${single}:x`, bundle]);
  return names.map((n) => readFileSync(join(bundle, n), "utf8"));
}

test("--platform <host>,<other>: every stage per platform, RUN natively and through qemu, one index behind -o, --push and the store name", { skip }, async () => {
  const ctx = join(t.path, "ctx");
  mkdirSync(ctx);
  writeFileSync(
    join(ctx, "Containerfile"),
    [
      // A cross-compiling stage: it runs on the build machine, once, whatever the target.
      `FROM --platform=$BUILDPLATFORM ${base} AS tools`,
      "ARG TARGETARCH",
      "RUN uname -m > /built-on && echo $TARGETARCH > /built-for",
      `FROM ${base}`,
      "ARG TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT BUILDPLATFORM BUILDOS BUILDARCH",
      "COPY --from=tools /built-on /built-for /",
      'RUN uname -m > /arch && echo "$TARGETPLATFORM|$TARGETOS|$TARGETARCH|$TARGETVARIANT|$BUILDPLATFORM|$BUILDOS|$BUILDARCH" > /vars',
      "",
    ].join("\n"),
  );
  const store = join(t.path, "store");
  const layout = join(t.path, "out");
  const ref = `${reg!.host}/multi/app:1`;
  const platforms = `linux/${host},linux/${other}`;
  const r = await lading(["build", "--progress", "json", "--store", store, "--platform", platforms, "-t", ref, "--push", "-o", `type=oci-layout,dest=${layout},name=app`, ctx]);
  assert.equal(r.code, 0, r.stderr);
  const digest = r.stdout.trim();

  // One index, two manifests: the digest printed, the layout's tag, the store name and the registry's tag are all it.
  const outer = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")) as Json;
  assert.equal(outer.manifests.length, 1);
  assert.equal(outer.manifests[0]!.digest, digest);
  assert.equal(outer.manifests[0]!.mediaType, "application/vnd.oci.image.index.v1+json");
  const index = JSON.parse(blob(layout, digest)) as Json;
  assert.deepEqual(index.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`), [`linux/${host}`, `linux/${other}`]);
  const report = await validateLayout(layout);
  assert.equal(report.manifests, 2);
  assert.match(run("oci-image-tool", ["validate", "--type", "image", "--ref", "name=app", layout]), /Validation succeeded/);
  const pushed = JSON.parse(run("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${ref}`])) as Json;
  assert.deepEqual(pushed.manifests.map((m) => m.digest), index.manifests.map((m) => m.digest));
  assert.match(r.stderr, new RegExp(`pushed ${ref.replace(/[.]/g, "\\.")}@${digest}`));
  const stored = JSON.parse(run("skopeo", ["inspect", "--raw", `oci:${store}:${ref}`])) as Json;
  assert.deepEqual(stored, index);

  // lading inspect shows the index as a table of its platforms: from the store's name, and from the registry into an empty store.
  for (const where of [store, join(t.path, "store-inspect")]) {
    const shown = await lading(["inspect", "--store", where, ref]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`^Digest: +${digest}$`, "m"));
    for (const m of index.manifests) {
      const mark = m.platform!.architecture === host ? " \\*" : "";
      assert.match(shown.stdout, new RegExp(`^linux/${m.platform!.architecture}${mark} +${m.digest} +${m.size}$`, "m"));
    }
  }
  const one = JSON.parse((await lading(["inspect", "--store", store, "--platform", `linux/${other}`, ref])).stdout);
  assert.equal(one.Platform, `linux/${other}`);
  assert.equal(one.Index, digest);

  // What each platform's RUN saw: its own machine through uname (qemu for the other), and BuildKit's variables.
  for (const arch of [host, other]) {
    const [archFile, vars, builtOn, builtFor] = filesOf(layout, "app", arch, ["arch", "vars", "built-on", "built-for"]);
    assert.equal(archFile, `${uname[arch]}\n`);
    assert.equal(vars, `linux/${arch}|linux|${arch}||linux/${host}|linux|${host}\n`);
    assert.equal(builtOn, `${uname[host]}\n`, "the FROM --platform=$BUILDPLATFORM stage ran on the build machine");
    assert.equal(builtFor, `${arch}\n`, "that stage still sees the target platform's TARGETARCH");
  }
  const runs = r.stderr.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)).filter((e) => e.type === "step" && e.status === "done" && /^RUN /.test(e.name));
  assert.equal(runs.length, 4, "two per platform: the tools stage's differs by TARGETARCH");

  // Built again: nothing runs, the same index; progress names each step's platform (the steps share names).
  const again = await lading(["build", "--progress", "plain", "--store", store, "--platform", platforms, ctx]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout.trim(), digest);
  for (const arch of [host, other]) assert.match(again.stderr, new RegExp(`^✔ CACHED \\[linux/${arch}\\] RUN uname -m > /arch`, "m"));
  assert.doesNotMatch(again.stderr, /^✔ (\[[^\]]+\] )?RUN/m, "no RUN ran again");

  // podman runs the host's image of the index (root only: podman's rootless setup is not this test's subject).
  if (process.getuid!() === 0 && has("podman")) {
    const archive = join(t.path, "multi.tar");
    const exported = await lading(["build", "--progress", "quiet", "--store", store, "--platform", platforms, "-o", archive, ctx]);
    assert.equal(exported.code, 0, exported.stderr);
    const p = podmanArgs(join(t.path, "podman"), join(t.path, "podman-run"));
    assert.equal(run("podman", [...p, "run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", `oci-archive:${archive}`, "cat", "/arch"]), `${uname[host]}\n`);
    run("podman", [...p, "rmi", "-a", "-f"]);
  }
});

test("a stage that runs only on the build machine needs no emulator: FROM --platform=$BUILDPLATFORM shares one RUN across targets", { skip }, async () => {
  const ctx = join(t.path, "ctx-shared");
  mkdirSync(ctx);
  writeFileSync(join(ctx, "Containerfile"), `FROM --platform=$BUILDPLATFORM ${base} AS tools\nRUN uname -m > /tool\nFROM scratch\nCOPY --from=tools /tool /tool\n`);
  const layout = join(t.path, "out-shared");
  const r = await lading(["build", "--progress", "json", "--store", join(t.path, "store"), "--platform", `linux/${other},linux/${host}`, "-o", `type=oci-layout,dest=${layout},name=shared`, ctx]);
  assert.equal(r.code, 0, r.stderr);
  const runs = r.stderr.trim().split("\n").map((l) => JSON.parse(l)).filter((e) => e.type === "step" && (e.status === "done" || e.status === "cached") && e.name === "RUN uname -m > /tool");
  assert.equal(runs.length, 1, "one RUN for both targets");
  for (const arch of [other, host]) assert.deepEqual(filesOf(layout, "shared", arch, ["tool"]), [`${uname[host]}\n`]);
});

test("the API: withExec on a container of the other platform runs through its emulator; emulatorFor says which", { skip }, async () => {
  const client = await connect({ store: join(t.path, "store-api") });
  try {
    assert.equal(await client.emulatorFor(`linux/${host}`), null);
    assert.match((await client.emulatorFor(`linux/${other}`))!, /qemu/);
    const [mine, theirs] = [host, other].map((arch) => client.container({ platform: `linux/${arch}` }).from(base).withExec(["sh", "-c", "uname -m > /arch"]).withAnnotation("org.example.arch", arch));
    assert.equal(await theirs!.file("/arch").contents(), `${uname[other]}\n`);
    const ref = await mine!.publish(`${reg!.host}/multi/api:1`, { platformVariants: [theirs!] });
    const raw = run("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${reg!.host}/multi/api:1`]);
    assert.equal(ref.split("@")[1], `sha256:${createHash("sha256").update(raw).digest("hex")}`, "publish returns the index's digest");
    const pushed = JSON.parse(raw) as Json;
    assert.deepEqual(pushed.manifests.map((m) => [m.platform?.architecture, m.annotations?.["org.example.arch"]]), [[host, host], [other, other]]);
  } finally {
    await client.close();
  }
});

test("binfmt_misc entries: an emulator counts only when enabled and registered with F; each other case says what to do", async () => {
  const dir = join(t.path, "binfmt");
  mkdirSync(dir);
  const arm64 = { os: "linux", architecture: "arm64" };
  const amd64 = { os: "linux", architecture: "amd64" };
  await assert.rejects(emulationFor(arm64, amd64, dir), /binfmt_misc is not mounted at .*mount -t binfmt_misc/);
  writeFileSync(join(dir, "register"), "");
  writeFileSync(join(dir, "status"), "enabled\n");
  await assert.rejects(emulationFor(arm64, amd64, dir), (e: Error & { code?: string }) => e.code === "RUNTIME_UNAVAILABLE" && /install qemu-user-static and binfmt-support/.test(e.message));
  // Debian's qemu-user-static entry, exactly as the kernel shows it, but without F.
  const entry = (flags: string, enabled = true) =>
    `${enabled ? "enabled" : "disabled"}\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: ${flags}\noffset 0\nmagic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n`;
  writeFileSync(join(dir, "qemu-aarch64"), entry("P"));
  await assert.rejects(emulationFor(arm64, amd64, dir), /without the F flag/);
  writeFileSync(join(dir, "qemu-aarch64"), entry("PF", false));
  await assert.rejects(emulationFor(arm64, amd64, dir), /is disabled; as root: `update-binfmts --enable qemu-aarch64`/);
  writeFileSync(join(dir, "qemu-aarch64"), entry("PF"));
  assert.deepEqual(await emulationFor(arm64, amd64, dir), { kind: "binfmt", entry: "qemu-aarch64", interpreter: "/usr/libexec/qemu-binfmt/aarch64-binfmt-P" });
  writeFileSync(join(dir, "status"), "disabled\n");
  await assert.rejects(emulationFor(arm64, amd64, dir), /binfmt_misc is turned off as a whole/);
  writeFileSync(join(dir, "status"), "enabled\n");
  // The aarch64 entry does not serve other machines; the host's own and i386 on x86-64 need none.
  await assert.rejects(emulationFor({ os: "linux", architecture: "s390x" }, amd64, dir), /no binfmt_misc handler for s390x/);
  assert.deepEqual(await emulationFor(amd64, amd64, dir), { kind: "native" });
  assert.deepEqual(await emulationFor({ os: "linux", architecture: "386" }, amd64, dir), { kind: "native" });
});
