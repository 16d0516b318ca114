/**
 * Issue 19: with no setting at all, a build with RUN steps gives one
 * manifest digest whoever builds it, when, where and how. One reference
 * build; each other build changes several things at once and must give its
 * digest (a difference prints the entries that differ, layer by layer):
 * a second fresh store after `sleep 2`, another store path and context path
 * (a `cp -a` copy), umask 077, TZ, LANG, TMPDIR, the WebAssembly deflate,
 * podman instead of runc, a context re-created file by file (new inodes in
 * another order, new mtimes on files and directories), and an ordinary
 * user with subordinate ids instead of root.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { findTool } from "../../src/exec/detect.js";
import { makeBusyboxLayout, type TestImage } from "../helpers/images.js";
import { tempDir } from "../helpers/tmp.js";
import { lading } from "../helpers/cli.js";
import { assertSameBuild, layerListing, type Build } from "./repro-listing.js";

const BUILD = fileURLToPath(new URL("./repro-build.js", import.meta.url));
const USER = "lading-ci";
const userId = spawnSync("id", ["-u", USER], { encoding: "utf8" });
const uid = userId.status === 0 ? Number(userId.stdout.trim()) : undefined;
const skip =
  process.getuid!() !== 0 ? "needs root (it builds as root and as another user)" :
  !(findTool("runc") && findTool("podman")) ? "needs runc and podman" :
  uid === undefined ? `needs the user ${USER} with subordinate ids (bash .ci/rootless.sh true makes it)` : false;

const t = tempDir("lading-repro-run-");
after(t.cleanup);

const CONTAINERFILE = (base: string) => `FROM ${base}
COPY app/ /app/
ADD vendor.tar /opt/vendor/
RUN mkdir -p /work/sub && echo one > /work/made && echo doomed > /work/sub/doomed && ln -s made /work/link \\
 && cp /etc/group /work/group.orig && mktemp /tmp/scratch.XXXXXX > /dev/null && grep -q localhost /etc/hosts
RUN echo two >> /work/made && chmod 0751 /work/made /app/bin && rm /work/sub/doomed /usr/bin/wc \\
 && echo "extra:x:4242:" >> /etc/group && chown 1000:1000 /work/sub && touch /app/readme.txt && hostname > /work/hostname
`;

/** Writes the context's files (content and mode only); `order` reverses the creation order. */
function writeContext(dir: string, base: string, vendorTar: Buffer, order: "forward" | "reverse"): void {
  const files: Array<[string, string | Buffer, number]> = [
    ["Containerfile", CONTAINERFILE(base), 0o644],
    ["app/readme.txt", "read me\n", 0o644],
    ["app/bin/run.sh", "#!/bin/sh\necho run\n", 0o755],
    ["app/data/a.json", '{"a":1}\n', 0o600],
    ["vendor.tar", vendorTar, 0o644],
  ];
  for (const [path, body, mode] of order === "forward" ? files : [...files].reverse()) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), body);
    chmodSync(join(dir, path), mode);
  }
  chmodSync(join(dir, "app", "bin"), 0o755);
}

/** Runs one build in a child process; `as` runs it as the ordinary user. */
function build(store: string, ctx: string, opts: { env?: NodeJS.ProcessEnv; umask?: string; runtime?: string; as?: string } = {}): Build {
  const node = [process.execPath, BUILD, store, ctx, ...(opts.runtime ? [opts.runtime] : [])];
  const shell = `umask ${opts.umask ?? "022"} && exec "$@"`;
  const env = { ...process.env, SOURCE_DATE_EPOCH: "", LADING_CLAMP_MTIME: "", LADING_DEFLATE: "", LADING_RUNTIME: "", ...opts.env };
  const r = opts.as
    ? spawnSync("setpriv", [`--reuid=${USER}`, `--regid=${USER}`, "--init-groups", "--reset-env", "--", "env", ...Object.entries({ PATH: process.env.PATH, ...opts.env }).map(([k, v]) => `${k}=${v}`), "/bin/sh", "-c", shell, "sh", ...node], { encoding: "utf8", cwd: "/" })
    : spawnSync("/bin/sh", ["-c", shell, "sh", ...node], { encoding: "utf8", env });
  assert.equal(r.status, 0, `build in ${store}: ${r.stderr}`);
  const [digest, ...listing] = r.stdout.trim().split("\n");
  assert.match(digest!, /^sha256:[a-f0-9]{64}$/);
  return { digest: digest!, listing };
}

describe("a build with RUN steps is reproducible with no setting", { skip }, () => {
  let base: TestImage;
  let ctx: string;
  let reference: Build;
  before(async () => {
    chmodSync(t.path, 0o755); // the ordinary user's build reads the base and the context
    base = await makeBusyboxLayout(join(t.path, "base"));
    execFileSync("chmod", ["-R", "a+rX", base.dir]);
    const src = join(t.path, "vendor-src");
    mkdirSync(join(src, "lib"), { recursive: true });
    writeFileSync(join(src, "lib", "v.txt"), "vendored\n");
    utimesSync(join(src, "lib", "v.txt"), 1_500_000_000, 1_500_000_000);
    const vendorTar = execFileSync("tar", ["--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@1500000000", "-C", src, "-cf", "-", "lib"]);
    ctx = join(t.path, "ctx");
    writeContext(ctx, base.ref, vendorTar, "forward");
    reference = build(join(t.path, "s1"), ctx, { env: { TZ: "UTC", LANG: "C" } });
  });

  it("writes the time rule: every mtime and date is the epoch 0, no atime or ctime, no /tmp scratch or runtime files", () => {
    const entries = reference.listing.filter((l) => / mtime=/.test(l));
    assert.ok(entries.length > 100, reference.listing.join("\n"));
    for (const l of entries) assert.match(l, / mtime=0 pax= /, l);
    assert.match(reference.listing[0]!, /^config created=1970-01-01T00:00:00Z history=(1970-01-01T00:00:00Z,?)+$/);
    // Layers 3 to 5 are the RUN steps' and the withExec's.
    const made = entries.filter((l) => /^layer [345] /.test(l));
    assert.ok(made.some((l) => l.includes(" work/hostname file 644 0:0 ") && l.endsWith(createHash("sha256").update("lading\n").digest("hex").slice(0, 12))), made.join("\n"));
    assert.ok(made.some((l) => l.includes(" work/made file 751 ")) && made.some((l) => l.includes(" api.txt file 600 ")), made.join("\n"));
    for (const l of made) assert.doesNotMatch(l, /^layer \d (tmp\/.|etc\/(hosts|resolv\.conf|hostname) |dev\/|proc\/|run\/)/, l);
  });

  it("gives the same digest in a second fresh store two seconds later, elsewhere, with another umask, TZ, LANG, TMPDIR and the WebAssembly deflate", () => {
    execFileSync("sleep", ["2"]);
    const copy = join(t.path, "elsewhere", "deeper", "ctx-copy");
    mkdirSync(join(copy, ".."), { recursive: true });
    execFileSync("cp", ["-a", ctx, copy]);
    const tmp = join(t.path, "other-tmp");
    mkdirSync(tmp);
    const again = build(join(t.path, "stores", "second", "s2"), copy, { umask: "077", env: { TZ: "Pacific/Chatham", LANG: "de_DE.UTF-8", LC_ALL: "de_DE.UTF-8", TMPDIR: tmp, LADING_DEFLATE: "wasm" } });
    assertSameBuild(reference, again, "second build");
  });

  it("gives the same digest through podman, from a context re-created file by file", () => {
    const fresh = join(t.path, "recreated");
    writeContext(fresh, base.ref, readFileSync(join(ctx, "vendor.tar")), "reverse");
    assert.notEqual(statSync(join(fresh, "app")).mtimeMs, statSync(join(ctx, "app")).mtimeMs);
    assert.deepEqual(readdirSync(join(fresh, "app")).sort(), readdirSync(join(ctx, "app")).sort());
    assertSameBuild(reference, build(join(t.path, "s3"), fresh, { runtime: "podman" }), "podman build");
  });

  it("gives the same digest built by an ordinary user with subordinate ids", () => {
    const home = join(t.path, "user-home");
    const run = join(home, "run");
    mkdirSync(run, { recursive: true, mode: 0o700 });
    const store = join(home, "store");
    // The user's own copy: it could not read the context's 0600 file (owners never reach a COPY layer).
    const own = join(home, "ctx");
    execFileSync("cp", ["-a", ctx, own]);
    execFileSync("chown", ["-R", `${uid}:${uid}`, home]);
    const rootless = build(store, own, { as: USER, env: { HOME: home, TMPDIR: home, XDG_RUNTIME_DIR: run } });
    assertSameBuild(reference, rootless, "rootless build");
  });

  it("keeps real times with --no-clamp-mtime (or LADING_CLAMP_MTIME=0), and a default build on the same store still gives the reference", async () => {
    const store = join(t.path, "s-kept");
    const before = Math.floor(Date.now() / 1000) - 1;
    const cli = await lading(["build", "--no-clamp-mtime", "--progress", "plain", "--store", store, ctx], { env: { SOURCE_DATE_EPOCH: "", LADING_CLAMP_MTIME: "" } });
    assert.equal(cli.code, 0, cli.stderr);
    const kept = await layerListing(store, cli.stdout.trim());
    const line = (path: string) => kept.find((l) => l.includes(` ${path} `)) ?? assert.fail(`${path} not in ${kept.join("\n")}`);
    const mtime = (path: string) => Number(/ mtime=(\d+) /.exec(line(path))![1]);
    assert.ok(mtime("work/made") >= before, line("work/made"));
    assert.equal(mtime("app/readme.txt"), Math.floor(statSync(join(ctx, "app", "readme.txt")).mtimeMs / 1000));
    assert.equal(mtime("opt/vendor/lib/v.txt"), 1_500_000_000);
    // Image dates are the epoch either way.
    assert.match(kept[0]!, /^config created=1970-01-01T00:00:00Z /);
    // The variable is the same choice: the Containerfile's layers come from the flag's build, cached.
    const byEnv = build(store, ctx, { env: { LADING_CLAMP_MTIME: "0" } });
    const layers = (b: string[]) => b.filter((l) => /^layer [0-4] sha256:/.test(l));
    assert.deepEqual(layers(byEnv.listing), layers(kept));
    assertSameBuild(reference, build(store, ctx), "default build after kept times");
  });
});
