/**
 * Parity with another implementation: each good-corpus Containerfile is
 * built by buildah and by lading, and the two root filesystems (paths,
 * types, modes, owners, contents) and the main config fields must match.
 * Also a context with a tricky .dockerignore, copied whole.
 *
 * The installed buildah (1.28) predates some Dockerfile features and
 * writes OCI-format configs without docker-only fields; the entries where
 * it cannot be the reference are listed with the reason.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { connect, type Client } from "../../src/api/client.js";
import { buildContainerfile } from "../../src/frontends/containerfile/index.js";
import { makeBusyboxLayout, type TestImage } from "../helpers/images.js";
import { tempDir } from "../helpers/tmp.js";
import { has, run } from "../helpers/tools.js";
import { execUnavailable } from "./exec-probe.js";

const OK = fileURLToPath(new URL("../../../fixtures/containerfiles/ok/", import.meta.url));

/** Where buildah 1.28 is not a reference for docker's behaviour. */
const BUILDAH_DIFFERS: Record<string, string> = {
  "14-heredoc-copy": "buildah 1.28 has no heredocs",
  "15-heredoc-two-files": "buildah 1.28 has no heredocs",
  "20-config-fields": "buildah keeps EXPOSE ranges as one key; docker expands them, one key per port",
  "21-shell-form-uses-shell": "buildah drops SHELL in OCI format and then wraps CMD in /bin/sh",
  "23-healthcheck": "buildah drops HEALTHCHECK in OCI format",
  "24-onbuild": "buildah drops ONBUILD in OCI format",
  "25-escape-backtick": "buildah removes a backslash that BuildKit's lexer keeps literal under `# escape=`",
  "30-expansion-modifiers": "buildah 1.28 lacks ${VAR%%…} and ${VAR#…}",
  "33-ignore-file-beside-containerfile": "buildah 1.28 does not read <Containerfile>.dockerignore",
  "35-copy-exclude": "buildah 1.28 has no COPY --exclude",
  "32-run-heredoc-and-mounts": "buildah 1.28 has no heredocs",
  "38-run-network-none-and-shell": "buildah 1.28 has no RUN --network",
  "43-heredoc-into-existing-dir": "buildah 1.28 has no heredocs",
  "48-run-heredoc-shebang-and-shell": "buildah 1.28 has no heredocs",
  "49-run-mount-points-leave-no-trace": "buildah 1.28 leaves the directories it made for RUN --mount points; BuildKit removes them",
  "50-run-mount-podman-options": "buildah 1.28 chowns the build context itself for U and writes an rw bind into it, and drops a directory a tmpfs was mounted over",
  "37-run-secret-mount": "needs secrets passed differently to buildah; covered by the corpus runner",
};
const BUILDAH_BASE = "localhost/parity-base:latest";
const CONFIG_FIELDS = ["Env", "WorkingDir", "User", "Entrypoint", "Cmd", "Volumes", "StopSignal"];

const skipAll = !has("buildah") ? "buildah is not installed" : process.getuid?.() !== 0 ? "buildah's vfs storage here needs root" : false;
const tmp = tempDir();
let client: Client;
let base: TestImage;
let noExec: string | undefined;
const buildahRoot = ["--root", join(tmp.path, "buildah", "root"), "--runroot", join(tmp.path, "buildah", "run"), "--storage-driver", "vfs"];

before(async () => {
  client = await connect({ store: join(tmp.path, "store") });
  base = await makeBusyboxLayout(join(tmp.path, "base"));
  noExec = await execUnavailable();
  if (!skipAll) {
    // The same base image in buildah's storage, under a name its references accept (our temp path is mixed-case).
    const storage = `containers-storage:[vfs@${join(tmp.path, "buildah", "root")}+${join(tmp.path, "buildah", "run")}]${BUILDAH_BASE}`;
    run("skopeo", ["copy", "-q", base.ref, storage]);
  }
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

/**
 * buildah leaves the mount points of its RUN containers in the image
 * (empty /dev, /proc, /sys, /run, /etc/hosts…); BuildKit removes such stubs,
 * and so does lading. Dropped from buildah's side when lading has no such entry.
 */
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
function withoutRunStubs(buildah: Record<string, string>, lading: Record<string, string>): Record<string, string> {
  const stubs = new Set(["dev/", "proc/", "sys/", "run/", "etc/hostname", "etc/hosts", "etc/resolv.conf"]);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(buildah)) {
    const isStub = stubs.has(k) && lading[k] === undefined && (v.startsWith("dir ") || v.endsWith(EMPTY_SHA256));
    if (!isStub) out[k] = v;
  }
  return out;
}

/** "path: lading=… buildah=…" for every path whose entry differs. */
function differences(lading: Record<string, string>, buildah: Record<string, string>): string[] {
  const keys = [...new Set([...Object.keys(lading), ...Object.keys(buildah)])].sort();
  return keys.filter((k) => lading[k] !== buildah[k]).map((k) => `${k}: lading=${lading[k] ?? "absent"} buildah=${buildah[k] ?? "absent"}`);
}

function readLayoutConfig(layout: string): Record<string, unknown> {
  const blob = (d: string) => JSON.parse(readFileSync(join(layout, "blobs", "sha256", d.slice("sha256:".length)), "utf8"));
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
  return blob(blob(index.manifests[0].digest).config.digest).config ?? {};
}

/** Builds with buildah and with lading; returns both unpacked root filesystems and configs. */
async function buildBoth(name: string, file: string, context: string, opts: { buildArgs?: Record<string, string>; target?: string; platform?: string }) {
  const buildahArgs = { ...opts.buildArgs };
  if (buildahArgs.BASE === base.ref) buildahArgs.BASE = BUILDAH_BASE;
  const work = join(tmp.path, "cases", name);
  mkdirSync(work, { recursive: true });
  const args = Object.entries(buildahArgs).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]);
  if (opts.target) args.push("--target", opts.target);
  if (opts.platform) args.push("--platform", opts.platform);
  const tag = `parity-${name}`;
  // buildah prefers crun when installed, and crun refuses this VM's hybrid cgroups: runc, as for lading.
  run("buildah", [...buildahRoot, "bud", "-q", "--layers=false", "--runtime", "runc", ...args, "-f", file, "-t", tag, context]);
  run("buildah", [...buildahRoot, "push", tag, `oci:${join(work, "buildah")}:t`]);
  run("umoci", ["unpack", "--image", `${join(work, "buildah")}:t`, join(work, "buildah-bundle")]);
  const c = await buildContainerfile(client, { file, context, ...opts });
  await c.exportLayout(join(work, "lading"), { tag: "t" });
  run("umoci", ["unpack", "--image", `${join(work, "lading")}:t`, join(work, "lading-bundle")]);
  return {
    buildah: { files: snapshot(join(work, "buildah-bundle", "rootfs")), config: readLayoutConfig(join(work, "buildah")) },
    lading: { files: snapshot(join(work, "lading-bundle", "rootfs")), config: readLayoutConfig(join(work, "lading")) },
  };
}


for (const name of readdirSync(OK).sort()) {
  const want = JSON.parse(readFileSync(join(OK, name, "expect.json"), "utf8")) as { buildArgs?: Record<string, string>; target?: string; platform?: string; needsExec?: boolean; needsBase?: boolean };
  const reason = skipAll || BUILDAH_DIFFERS[name] || false;
  test(`ok/${name} gives the same files and config as buildah`, { skip: reason }, async (t) => {
    if (want.needsExec && noExec) return t.skip(noExec);
    const buildArgs = { ...want.buildArgs, ...(want.needsExec || want.needsBase ? { BASE: base.ref } : {}) };
    // git keeps no empty folders: an entry whose context is empty has none in a fresh clone.
    const ctx = join(OK, name, "context");
    if (!existsSync(ctx)) mkdirSync(ctx, { recursive: true });
    const r = await buildBoth(name, join(OK, name, "Containerfile"), ctx, { buildArgs, target: want.target, platform: want.platform });
    assert.deepEqual(differences(r.lading.files, withoutRunStubs(r.buildah.files, r.lading.files)), []);
    for (const f of CONFIG_FIELDS) assert.deepEqual(r.lading.config[f] ?? null, r.buildah.config[f] ?? null, `config ${f}`);
    const labels = { ...(r.buildah.config.Labels as Record<string, string> | undefined) };
    delete labels["io.buildah.version"];
    assert.deepEqual(r.lading.config.Labels ?? {}, labels, "config Labels");
  });
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
  const r = await buildBoth("ignore", file, ctx, {});
  assert.deepEqual(Object.keys(r.lading.files), Object.keys(r.buildah.files));
  assert.ok(r.lading.files["ctx/docs/keep.md"] && !r.lading.files["ctx/docs/x.md"] && r.lading.files["ctx/sub/logs/2.log"], "the expectations themselves are not empty");
});
