/**
 * `lading build`'s flags, each run end to end at least once, judged by what
 * a user sees: exit code, the digest on stdout, and the image itself as
 * other tools read it (skopeo, umoci, podman load).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { LADING, lading } from "../helpers/cli.js";
import { tempDir } from "../helpers/tmp.js";
import { makeBusyboxLayout } from "../helpers/images.js";
import { podmanArgs, run } from "../helpers/tools.js";
import { hostPlatform } from "../../src/engine/image-state.js";
import { userEnv } from "./user-env.js";

const t = tempDir("lading-flags-");
const { env, dockerConfig } = userEnv(t.path);
let base: string;
after(t.cleanup);
before(async () => {
  base = `oci:${(await makeBusyboxLayout(join(t.path, "base"), "latest")).dir}:latest`;
});

function context(name: string, containerfile: string, files: Record<string, string> = {}): string {
  const dir = join(t.path, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "Containerfile"), containerfile);
  for (const [n, text] of Object.entries(files)) writeFileSync(join(dir, n), text);
  return dir;
}

/** The image's root filesystem, unpacked by umoci from an OCI layout. */
function unpack(layout: string, tag: string, name: string): string {
  const bundle = join(t.path, `bundle-${name}`);
  run("umoci", ["unpack", "--image", `${layout}:${tag}`, bundle]);
  return join(bundle, "rootfs");
}

async function build(args: string[], ctx: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await lading(["build", "--progress", "quiet", "--store", join(t.path, "store"), ...args, ctx], { env: { ...env, ...extraEnv } });
  assert.equal(r.code, 0, `build ${args.join(" ")}: ${r.stderr}`);
  assert.match(r.stdout, /^sha256:[a-f0-9]{64}\n$/);
  return r.stdout.trim();
}

test("--build-arg, --target, --label, --annotation, -t and all three -o types: each shows in the image other tools read", async () => {
  const ctx = context(
    "multi",
    [
      `FROM ${base} AS tools`,
      "ARG GREETING=hello",
      'RUN echo "$GREETING" > /greeting',
      "FROM tools AS runtime",
      "RUN echo runtime > /stage",
      "FROM runtime AS debug",
      "RUN echo debug > /stage",
      "",
    ].join("\n"),
  );
  const docker = join(t.path, "img-docker.tar");
  const oci = join(t.path, "img-oci.tar");
  const layout = join(t.path, "layout");
  const digest = await build(
    ["--build-arg", "GREETING=bonjour", "--target", "runtime", "--label", "org.example.team=builders", "--annotation", "org.example.note=reviewed", "-t", "flags:1", "-o", `type=docker,dest=${docker}`, "-o", `type=oci,dest=${oci}`, "-o", `type=oci-layout,dest=${layout},name=v1`],
    ctx,
  );

  // type=oci: the same manifest, with the annotation; the label in the config.
  const manifest = JSON.parse(run("skopeo", ["inspect", "--raw", `oci-archive:${oci}`]));
  assert.equal(JSON.parse(run("skopeo", ["inspect", `oci-archive:${oci}`])).Digest, digest);
  assert.equal(manifest.annotations["org.example.note"], "reviewed");
  const config = JSON.parse(run("skopeo", ["inspect", "--config", `oci-archive:${oci}`]));
  assert.equal(config.config.Labels["org.example.team"], "builders");
  assert.equal(config.config.Labels["org.example.note"], undefined, "an annotation is not a label");

  // type=oci-layout,name=v1: the tag is there for skopeo and umoci; the files are the target stage's, with the build arg's value.
  assert.equal(JSON.parse(run("skopeo", ["inspect", `oci:${layout}:v1`])).Digest, digest);
  assert.deepEqual(run("umoci", ["ls", "--layout", layout]).trim().split("\n"), ["v1"]);
  const rootfs = unpack(layout, "v1", "multi");
  assert.equal(readFileSync(join(rootfs, "greeting"), "utf8"), "bonjour\n");
  assert.equal(readFileSync(join(rootfs, "stage"), "utf8"), "runtime\n", "--target runtime stops before the debug stage");

  // type=docker: docker's archive (manifest.json with the -t name), the same config, loadable by podman and runnable.
  const entries = JSON.parse(run("tar", ["-xOf", docker, "manifest.json"]));
  assert.equal(entries.length, 1);
  assert.deepEqual(entries[0].RepoTags, ["flags:1"]);
  assert.equal(entries[0].Config, `blobs/sha256/${manifest.config.digest.slice(7)}`);
  assert.equal(entries[0].Layers.length, manifest.layers.length);
  const archived = JSON.parse(run("skopeo", ["inspect", `docker-archive:${docker}`]));
  assert.equal(archived.Labels["org.example.team"], "builders");
  const p = [...podmanArgs(join(t.path, "podman"), join(t.path, "podman-run"))];
  assert.match(run("podman", [...p, "load", "-i", docker]), /Loaded image: localhost\/flags:1/);
  // Low explicit limits: lowering is always allowed, while raising NPROC to the hard limit is refused here.
  assert.equal(run("podman", [...p, "run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "localhost/flags:1", "cat", "/greeting", "/stage"]), "bonjour\nruntime\n");
  run("podman", [...p, "rmi", "-a", "-f"]);
});

test("--no-cache reruns a RUN whose output is random; without it the cached result is reused", async () => {
  const ctx = context("random", `FROM ${base}\nRUN head -c 32 /dev/urandom | od -An -tx1 > /random\n`);
  const first = await build([], ctx);
  assert.equal(await build([], ctx), first, "a cached rerun gives the same image");
  const fresh = await build(["--no-cache"], ctx);
  assert.notEqual(fresh, first, "--no-cache ran the step again and got new random bytes");
});

test("--secret id=…,src=FILE and id=…,env=VAR reach RUN --mount=type=secret and stay out of the image", async () => {
  const fileSecret = "file-secret-4f1c9a";
  const envSecret = "env-secret-93be07";
  writeFileSync(join(t.path, "token.txt"), fileSecret);
  const ctx = context(
    "secrets",
    [`FROM ${base}`, "RUN --mount=type=secret,id=tok sha256sum /run/secrets/tok | cut -d' ' -f1 > /tok.sum", "RUN --mount=type=secret,id=api sha256sum /run/secrets/api | cut -d' ' -f1 > /api.sum", ""].join("\n"),
  );
  const layout = join(t.path, "secrets-layout");
  // The env secret comes from the CLI's environment.
  await build(["--secret", `id=tok,src=${join(t.path, "token.txt")}`, "--secret", "id=api,env=LADING_TEST_API_KEY", "-o", `type=oci-layout,dest=${layout}`], ctx, { LADING_TEST_API_KEY: envSecret });
  const sha = (s: string) => createHash("sha256").update(s).digest("hex") + "\n";
  const rootfs = unpack(layout, "latest", "secrets");
  assert.equal(readFileSync(join(rootfs, "tok.sum"), "utf8"), sha(fileSecret));
  assert.equal(readFileSync(join(rootfs, "api.sum"), "utf8"), sha(envSecret));
  assert.ok(!existsSync(join(rootfs, "run", "secrets", "tok")));
  for (const blob of run("find", [join(layout, "blobs"), "-type", "f"]).trim().split("\n")) {
    const bytes = run("sh", ["-c", 'zcat -f "$1"', "sh", blob]);
    assert.ok(!bytes.includes(fileSecret) && !bytes.includes(envSecret), `a secret is in ${blob}`);
  }
});

test("--platform: the host's gives the same image as none; a foreign one builds FROM scratch, is refused for a base of another platform, and a RUN with no emulator is refused before any work", async () => {
  const host = hostPlatform();
  const ctx = context("platform", `FROM ${base}\nRUN echo hi > /hi\n`);
  const plain = await build([], ctx);
  assert.equal(await build(["--platform", host], ctx), plain);

  const foreign = host === "linux/arm64" ? "linux/amd64" : "linux/arm64";
  const refused = await lading(["build", "--progress", "quiet", "--platform", foreign, "--store", join(t.path, "store"), ctx], { env });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, new RegExp(`is an image for ${host}, not for the platform asked for \\(${foreign}\\)`));

  const layout = join(t.path, "foreign-layout");
  await build(["--platform", foreign, "-o", `type=oci-layout,dest=${layout}`], context("scratch-foreign", "FROM scratch\nCOPY a.txt /a.txt\n", { "a.txt": "a" }));
  const config = JSON.parse(run("skopeo", ["inspect", "--config", `oci:${layout}:latest`]));
  assert.equal(`${config.os}/${config.architecture}`, foreign);

  // No emulator for the foreign platform (binfmt_misc hidden by an empty tmpfs, in a mount namespace of the
  // build's own): the RUN is refused before anything is read or run, with what to install.
  if (process.getuid!() !== 0) return; // mounting over /proc/sys/fs/binfmt_misc needs root; the unit test in exec/multiplatform covers the rest
  // The host's platform comes first: its stage must not even import its base before the foreign one is refused.
  const runCtx = context("run-foreign", `FROM ${base}\nCOPY a.txt /a.txt\nRUN echo hi\n`, { "a.txt": "a" });
  const store = join(t.path, "store-no-binfmt");
  const hidden = spawnSync("unshare", ["--mount", "--propagation", "private", "sh", "-c", 'mount -t tmpfs none /proc/sys/fs/binfmt_misc && exec "$@"', "sh", process.execPath, LADING, "build", "--progress", "json", "--platform", `${host},${foreign}`, "--store", store, runCtx], { encoding: "utf8", env: { ...process.env, ...env } });
  assert.equal(hidden.status, 1, hidden.stderr);
  assert.match(hidden.stderr, /Containerfile:3: RUN echo hi: RUN for linux\/\w+ on this linux\/\w+ machine needs an emulator registered with binfmt_misc, but binfmt_misc is not mounted/);
  assert.match(hidden.stderr, /install qemu-user-static and binfmt-support/);
  assert.doesNotMatch(hidden.stderr, /"type":"step"/, "no step started");
  assert.equal(existsSync(join(store, "blobs", "sha256")) ? readdirSync(join(store, "blobs", "sha256")).length : 0, 0, "nothing was written");
});

test("--runtime podman runs RUN steps through podman: the same files as runc", async () => {
  const ctx = context("podman", `FROM ${base}\nRUN echo "via $(id -u)" > /who && ls /bin/busybox > /ls\n`);
  const layout = join(t.path, "podman-layout");
  // DOCKER_CONFIG names a folder with no config.json (a user who never logged in): podman 4.3 fails on
  // that by itself ("stat $DOCKER_CONFIG/config.json"), so lading must not hand it the variable.
  mkdirSync(dockerConfig, { recursive: true });
  assert.equal(existsSync(join(dockerConfig, "config.json")), false);
  const r = await lading(["build", "--progress", "quiet", "--runtime", "podman", "--no-cache", "--store", join(t.path, "store"), "-o", `type=oci-layout,dest=${layout}`, ctx], { env });
  assert.equal(r.code, 0, r.stderr);
  const rootfs = unpack(layout, "latest", "podman");
  assert.equal(readFileSync(join(rootfs, "who"), "utf8"), "via 0\n");
  assert.equal(readFileSync(join(rootfs, "ls"), "utf8"), "/bin/busybox\n");
  const bad = await lading(["build", "--progress", "quiet", "--runtime", "nosuch", "--store", join(t.path, "store"), ctx], { env });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /invalid runtime "nosuch": use runc, crun or podman/);
});
