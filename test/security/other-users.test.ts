// Issue 21, from the attacker's side: root builds into a store kept under a
// folder every user can enter (as /srv/lading would be), and another local
// user tries to read, list, run, pre-plant and snoop. Needs root (to build
// as root and to switch to the other user); the other user is lading-ci,
// made here when missing (as .ci/rootless.sh makes it).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { randomBytes, createHash } from "node:crypto";
import { join } from "node:path";
import { lading } from "../helpers/cli.js";
import { removeTestTree, tempDir } from "../helpers/tmp.js";
import { makeBusyboxLayout, type TestImage } from "../helpers/images.js";
import { has } from "../helpers/tools.js";

const isRoot = process.getuid?.() === 0;
const skip = isRoot ? false : "needs root: builds as root and switches to another local user";
const USER = "lading-ci";
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

let uid = 0;
let gid = 0;
// Everyone may enter `open`: what protects the store is lading's own modes. `pub` holds what the attacker is handed.
let open = "";
let pub = "";
const priv = tempDir("lading-sec-");
let busybox: TestImage;
const secret = `s3cret-${randomBytes(12).toString("hex")}`;
const marker = `marker-${randomBytes(6).toString("hex")}`;

/** Runs a shell script as the other user, with a bare environment (and, given `group`, as a member of that group). */
function asOther(script: string, args: string[] = [], group?: number): { code: number | null; stdout: string; stderr: string } {
  const groups = group === undefined ? ["--clear-groups"] : [`--groups=${group}`];
  const r = spawnSync("setpriv", [`--reuid=${uid}`, `--regid=${gid}`, ...groups, "--", "env", "-i", `PATH=${PATH}`, "/bin/sh", "-c", script, "sh", ...args], { encoding: "utf8", cwd: "/" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ensureUser(): void {
  if (spawnSync("id", ["-u", USER]).status !== 0) {
    const r = spawnSync("useradd", ["--create-home", "--shell", "/bin/bash", USER], { encoding: "utf8" });
    assert.equal(r.status, 0, `useradd ${USER}: ${r.stderr}`);
  }
  uid = Number(spawnSync("id", ["-u", USER], { encoding: "utf8" }).stdout.trim());
  gid = Number(spawnSync("id", ["-g", USER], { encoding: "utf8" }).stdout.trim());
}

/**
 * Every path under `dir`. One may vanish while it is walked: an exec helper
 * of the build that just ended removes its temp folder (its kept /etc
 * layers) as it exits, a moment after the command. What is gone needs no
 * permission check.
 */
function allPaths(dir: string): string[] {
  const out = [dir];
  for (const n of ifPresent(() => readdirSync(dir)) ?? []) {
    const p = join(dir, n);
    const st = ifPresent(() => lstatSync(p));
    if (st?.isDirectory()) out.push(...allPaths(p));
    else if (st) out.push(p);
  }
  return out;
}

function ifPresent<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

before(async () => {
  if (!isRoot) return;
  ensureUser();
  // Not the test's private temp dir: the other user must be able to reach the store's parent (0755).
  open = mkdtempSync(join(tmpdir(), "lading-sec-open-"));
  chmodSync(open, 0o755);
  pub = join(open, "pub");
  mkdirSync(pub, { mode: 0o755 });
  chmodSync(pub, 0o755);
  busybox = await makeBusyboxLayout(join(priv.path, "busybox"));
});
after(() => {
  priv.cleanup();
  if (open) removeTestTree(open);
});

/** Builds, into `store`, an image whose RUN made a program setuid root, with a cache mount and a secret after it; returns the snapshot copies of that program. */
async function buildSetuid(store: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const ctx = mkdtempSync(join(priv.path, "ctx-"));
  // A host program that prints its effective uid; made setuid root by a RUN step, as an image may.
  copyFileSync("/usr/bin/id", join(ctx, "euid"));
  writeFileSync(join(priv.path, "tok"), secret, { mode: 0o600 });
  writeFileSync(
    join(ctx, "Containerfile"),
    [
      `FROM ${busybox.ref}`,
      "COPY euid /euid",
      "RUN chown 0:0 /euid && chmod 4755 /euid",
      "RUN --mount=type=cache,id=sec,target=/cache echo cached > /cache/mark",
      "RUN --mount=type=secret,id=tok,target=/run/secrets/tok test -s /run/secrets/tok",
      "",
    ].join("\n"),
  );
  const r = await lading(["build", "--progress", "plain", "--store", store, "--secret", `id=tok,src=${join(priv.path, "tok")}`, "-o", join(ctx, "img.tar"), ctx], { env });
  assert.equal(r.code, 0, r.stderr);
  // The setuid program is there, as root sees it: the checks that use it are about reaching it.
  const snaps = allPaths(join(store, "lading", "snapshots")).filter((p) => p.endsWith("/euid") && statSync(p).uid === 0 && statSync(p).mode & 0o4000);
  assert.ok(snaps.length > 0, "no snapshot holds /euid setuid root");
  assert.ok(existsSync(join(store, "lading", "volumes")), "the cache volume was not made");
  return snaps;
}

test("another user can neither list, read nor run anything in a store root built into, setuid programs included", { skip }, async () => {
  const store = join(open, "store");
  const snaps = await buildSetuid(store);

  for (const p of snaps) {
    const a = asOther(`"$1" -u`, [p]);
    assert.notEqual(a.code, 0, `${p} ran as ${USER} and printed ${a.stdout}`);
    assert.doesNotMatch(a.stdout, /^0$/m);
  }
  // Every path under the store, handed to the other user: none may even be stat'ed, but the store itself.
  const paths = allPaths(store);
  writeFileSync(join(pub, "paths"), paths.join("\n") + "\n", { mode: 0o644 });
  const seen = asOther('while IFS= read -r p; do if [ -e "$p" ] || [ -L "$p" ]; then echo "$p"; fi; done < "$1"', [join(pub, "paths")]);
  assert.equal(seen.code, 0, seen.stderr);
  assert.deepEqual(seen.stdout.split("\n").filter(Boolean), [store], "paths the other user can see");

  const tries = [`ls "${store}"`, `find "${store}" -mindepth 1`, `cat "${join(store, "index.json")}"`, `ls "${join(store, "lading", "snapshots", "root")}"`];
  for (const t of tries) {
    const a = asOther(t);
    assert.notEqual(a.code, 0, `${t} succeeded as ${USER}: ${a.stdout}`);
    assert.equal(a.stdout, "", t);
  }
});

test("another user sees no build secret in /proc or in any file they can read", { skip }, async () => {
  const store = join(open, "store-secret");
  const ctx = join(priv.path, "ctx-secret");
  mkdirSync(ctx);
  writeFileSync(join(priv.path, "tok2"), secret, { mode: 0o600 });
  // The marker is in the RUN's argv: seeing it proves the poll covered the step.
  writeFileSync(
    join(ctx, "Containerfile"),
    `FROM ${busybox.ref}\nRUN --mount=type=secret,id=tok,env=TOK --mount=type=secret,id=tok,target=/run/secrets/tok sh -c 'test -n "$TOK" && test -s /run/secrets/tok && sleep 3; : ${marker}'\n`,
  );
  writeFileSync(join(pub, "secret"), secret + "\n", { mode: 0o644 });
  writeFileSync(join(pub, "marker"), marker + "\n", { mode: 0o644 });
  const stop = join(pub, "stop");
  const since = join(pub, "since");
  writeFileSync(since, "");
  const poll =
    'seen=0; while [ ! -e "$1" ]; do ' +
    'grep -laFf "$2" /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null | sed "s/^/SECRET /"; ' +
    'if [ $seen = 0 ] && grep -qaFf "$3" /proc/[0-9]*/cmdline 2>/dev/null; then seen=1; echo SEEN; fi; ' +
    "done";
  const poller = spawn("setpriv", [`--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "--", "env", "-i", `PATH=${PATH}`, "/bin/sh", "-c", poll, "sh", stop, join(pub, "secret"), join(pub, "marker")], { stdio: ["ignore", "pipe", "inherit"] });
  let polled = "";
  poller.stdout.on("data", (c) => (polled += c));
  const closed = new Promise<void>((done) => poller.on("close", () => done()));
  let r;
  try {
    r = await lading(["build", "--progress", "plain", "--store", store, "--secret", `id=tok,src=${join(priv.path, "tok2")}`, "-o", join(priv.path, "secret.tar"), ctx]);
  } finally {
    writeFileSync(stop, "");
    await closed;
  }
  assert.equal(r.code, 0, r.stderr);
  assert.match(polled, /^SEEN$/m, "the poll never saw the RUN step's process");
  assert.deepEqual(polled.split("\n").filter((l) => l.startsWith("SECRET")), [], "process files holding the secret, readable by another user");

  // Files written during the build anywhere the other user can look, but what the test itself handed them.
  const scan = asOther(
    'find "$1" /tmp /var/tmp /dev/shm /run -xdev -path "$2" -prune -o -type f -newer "$3" -readable -print0 2>/dev/null | xargs -0 -r grep -laF -f "$4" 2>/dev/null; true',
    [open, pub, since, join(pub, "secret")],
  );
  assert.equal(scan.stdout, "", "readable files holding the secret");
});

test("a planted podman runroot in /tmp gets nothing written into it", { skip: skip || (has("podman") ? false : "podman is not installed") }, async () => {
  const store = join(open, "store-podman");
  const ctx = join(priv.path, "ctx-podman");
  mkdirSync(ctx);
  writeFileSync(join(ctx, "Containerfile"), `FROM ${busybox.ref}\nRUN echo hi > /hi\n`);
  // The runroot name lading once derived from the store path alone: predictable, so plantable.
  const planted = join("/tmp", `lading-pm-${createHash("sha256").update(join(store, "lading", "podman", "root")).digest("hex").slice(0, 16)}`);
  rmSync(planted, { recursive: true, force: true });
  try {
    const a = asOther(`mkdir -m 777 "$1"`, [planted]);
    assert.equal(a.code, 0, a.stderr);
    const r = await lading(["build", "--progress", "plain", "--runtime", "podman", "--store", store, "-o", join(priv.path, "podman.tar"), ctx]);
    if (r.code !== 0) assert.match(r.stderr, new RegExp(planted), "the build failed for another reason");
    assert.deepEqual(readdirSync(planted), [], "lading wrote into a directory another user made");
  } finally {
    rmSync(planted, { recursive: true, force: true });
  }
});

test("a store another user owns, or others can write, is refused with what to do", { skip }, async () => {
  const cases: Array<[string, (p: string) => void, RegExp]> = [
    ["world-writable", (p) => chmodSync(p, 0o777), /writable by every user.*chmod o-w/],
    ["group-writable", (p) => chmodSync(p, 0o770), /writable by its group.*chmod 700.*LADING_SHARED_STORE=1/],
    ["foreign", (p) => spawnSync("chown", [`${uid}:${gid}`, p]), new RegExp(`owned by uid ${uid}.*chown.*LADING_SHARED_STORE=1`)],
  ];
  for (const [name, spoil, message] of cases) {
    const store = join(open, `store-${name}`);
    mkdirSync(store);
    spoil(store);
    const r = await lading(["images", "--store", store]);
    assert.equal(r.code, 1, `${name}: ${r.stderr}`);
    assert.match(r.stderr.replace(/\n/g, " "), message, name);
    assert.ok(r.stderr.includes(store), `${name}: the message does not say where`);
    assert.deepEqual(readdirSync(store), [], `${name}: lading wrote into a store it refused`);
  }
  // The explicit opt-in: a group's store opens, and what holds images' trees stays private.
  const shared = join(open, "store-group-writable");
  const ok = await lading(["images", "--store", shared], { env: { LADING_SHARED_STORE: "1" } });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(statSync(join(shared, "lading", "tmp")).mode & 0o7777, 0o2770);
});

test("in a store shared on purpose, a member of its group shares the images but still reaches no snapshot, cache volume or temp dir", { skip }, async () => {
  const store = join(open, "store-shared");
  const snaps = await buildSetuid(store, { LADING_SHARED_STORE: "1" });
  const group = statSync(store).gid;
  assert.equal(statSync(store).mode & 0o7777, 0o2770);
  // The group's access works (so the refusals below are lading's modes, not a missing group).
  const blobs = asOther(`ls "$1"`, [join(store, "blobs", "sha256")], group);
  assert.equal(blobs.code, 0, blobs.stderr);
  assert.notEqual(blobs.stdout, "");
  for (const kind of ["snapshots", "volumes", "rootfs", "runc"]) {
    const p = join(store, "lading", kind);
    if (!existsSync(p)) continue;
    assert.equal(statSync(p).mode & 0o777, 0o700, p);
    const a = asOther(`ls "$1"`, [p], group);
    assert.notEqual(a.code, 0, `${p} listed by a group member: ${a.stdout}`);
  }
  for (const p of snaps) {
    const a = asOther(`"$1" -u`, [p], group);
    assert.notEqual(a.code, 0, `${p} ran as a group member and printed ${a.stdout}`);
  }
  // Temp dirs of a build in progress: whatever is in the group's tmp folder now is not enterable.
  const tmp = asOther(`for d in "$1"/*; do [ -d "$d" ] && ls "$d" >/dev/null 2>&1 && echo "$d"; done; true`, [join(store, "lading", "tmp")], group);
  assert.equal(tmp.stdout, "");
});
