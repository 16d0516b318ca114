/**
 * podman's state is lading's own: the backend runs where /run has no
 * runc or crun dir (a machine where neither ever ran as root), leaves
 * nothing in /run, ignores the machine's mounts.conf, and never uses a
 * runroot another local user could have made first (issue 21).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { findTool } from "../../src/exec/detect.js";
import { podmanEnv, recordedRunroot } from "../../src/exec/podman-state.js";
import { runTool } from "../../src/exec/proc.js";
import { reapLeftovers } from "../../src/exec/run.js";
import { EXEC_HELPER } from "../../src/engine/exec-helper-path.js";
import { readEnvConfig } from "../../src/env-config.js";
import { pidAlive } from "../../src/fsutil/pid-alive.js";
import type { LadingError } from "../../src/errors.js";
import { busybox, sh, type Busybox } from "./fixture.js";
import { tempDir } from "../helpers/tmp.js";

const CHILD = fileURLToPath(new URL("./podman-child.js", import.meta.url));
const KILL_CHILD = fileURLToPath(new URL("./kill-child.js", import.meta.url));
const OTHER = "lading-ci";
const other = spawnSync("id", ["-u", OTHER], { encoding: "utf8" });
const otherUid = other.status === 0 ? Number(other.stdout.trim()) : undefined;
const skip =
  process.getuid!() !== 0 ? "needs root (it makes mounts and files as another user)" :
  !(findTool("podman") && findTool("runc")) ? "needs podman and runc" :
  otherUid === undefined ? `needs the user ${OTHER} (bash .ci/rootless.sh creates it)` : false;

/** Runs a command as the other local user. */
function asOther(args: string[]): void {
  const r = spawnSync("setpriv", [`--reuid=${OTHER}`, `--regid=${OTHER}`, "--clear-groups", "--", ...args], { encoding: "utf8" });
  assert.equal(r.status, 0, `as ${OTHER}: ${args.join(" ")}: ${r.stderr}`);
}

/** The runroot the old code used: a name in /tmp anyone could predict and make first. */
function oldRunroot(storeRoot: string): string {
  return join("/tmp", `lading-pm-${createHash("sha256").update(join(storeRoot, "lading", "podman", "root")).digest("hex").slice(0, 16)}`);
}

function privateToRoot(path: string): boolean {
  const st = lstatSync(path);
  return st.isDirectory() && st.uid === 0 && (st.mode & 0o777) === 0o700;
}

const STEP = "test -e /run/lading-leak && echo LEAK; echo ok > /greeting; echo done";

/**
 * The child, in a mount namespace where /run is empty and the machine has
 * a mounts.conf that lists a secret dir; `user` runs it as another user.
 */
async function runWithoutRuntimeDirs(user?: { name: string; dir: string }): Promise<Record<string, unknown>> {
  const setup = [
    "mount -t tmpfs -o mode=755 lading-test-run /run",
    "mount -t tmpfs -o mode=755 lading-test-share /usr/share/containers",
    "mkdir /usr/share/containers/leak && echo secret > /usr/share/containers/leak/s",
    "echo /usr/share/containers/leak:/run/lading-leak > /usr/share/containers/mounts.conf",
    'exec "$@"',
  ].join(" && ");
  const node = [process.execPath, CHILD, STEP];
  const cmd = user
    ? ["setpriv", `--reuid=${user.name}`, `--regid=${user.name}`, "--init-groups", "--reset-env", "--", "env", `HOME=${user.dir}`, `TMPDIR=${user.dir}`, `LADING_TEST_TMP=${user.dir}`, `PATH=${process.env.PATH}`, ...node]
    : node;
  const child = spawn("unshare", ["--mount", "--propagation", "private", "--", "/bin/sh", "-c", setup, "sh", ...cmd], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr.on("data", (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((r) => child.on("close", r));
  assert.equal(code, 0, err);
  const r = JSON.parse(out.trim().split("\n").pop()!) as Record<string, unknown>;
  // util-linux's mount(8) keeps its lock and utab in /run/mount when it can (the overlay mount
  // of every runtime); that is not runtime state.
  if (Array.isArray(r.run)) r.run = r.run.filter((n) => n !== "mount");
  return r;
}

describe("podman without /run/runc, /run/crun or machine config", { skip }, () => {
  it("runs as root, leaves nothing in /run and binds nothing from mounts.conf", async () => {
    const r = await runWithoutRuntimeDirs();
    assert.deepEqual(r, { exitCode: 0, stdout: "done\n", stderr: "", names: ["greeting"], run: [] });
  });

  it("runs rootless the same way", { skip: !findTool("crun") && "rootless podman needs crun" }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "lading-pm-user-"));
    try {
      chownSync(dir, otherUid!, otherUid!);
      const r = await runWithoutRuntimeDirs({ name: OTHER, dir });
      assert.deepEqual(r, { exitCode: 0, stdout: "done\n", stderr: "", names: ["greeting"], run: [] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("podman's runroot as root, with another user's dirs in its way", { skip }, () => {
  let b: Busybox;
  let long: Busybox;
  const squats: string[] = [];
  before(async () => {
    b = await busybox();
    // Deep enough that `<store>/lading/podman/root/run` passes podman's 50-character limit.
    long = await busybox("a-folder-name-that-makes-the-store-path-long");
  });
  after(() => {
    for (const s of squats) rmSync(s, { recursive: true, force: true });
    b?.cleanup();
    long?.cleanup();
  });

  /** Makes `path` as the other user, open to all, as an attacker would. */
  function squat(path: string): void {
    asOther(["mkdir", "-m", "0777", path]);
    squats.push(path);
  }

  it("a store with a short path: podman's state stays in the store, the /tmp name is left alone", async () => {
    const inStore = join(b.store.root, "lading", "podman", "root", "run");
    assert.ok(inStore.length <= 50, `${inStore} is too long for this test`);
    squat(oldRunroot(b.store.root));
    const r = await sh(b, b.layers, "echo hi", { runtime: "podman" });
    assert.deepEqual([r.exitCode, r.stdout], [0, "hi\n"]);
    assert.deepEqual(readdirSync(oldRunroot(b.store.root)), [], "nothing written into the other user's dir");
    assert.ok(privateToRoot(inStore));
  });

  it("a store with a long path: a fresh private temp dir, replaced when another user takes its name", async () => {
    squat(oldRunroot(long.store.root));
    const r1 = await sh(long, long.layers, "echo one", { runtime: "podman" });
    assert.deepEqual([r1.exitCode, r1.stdout], [0, "one\n"]);
    const first = recordedRunroot(join(long.store.root, "lading", "podman"), "root")!;
    assert.ok(first && privateToRoot(first), `recorded runroot ${first}`);
    assert.ok(first.length <= 50);
    assert.deepEqual(readdirSync(oldRunroot(long.store.root)), []);
    // The dir vanishes (a temp cleaner, a reboot) and the other user makes one of that name.
    rmSync(first, { recursive: true, force: true });
    squat(first);
    const r2 = await sh(long, long.layers, "echo two", { runtime: "podman" });
    assert.deepEqual([r2.exitCode, r2.stdout], [0, "two\n"]);
    assert.deepEqual(readdirSync(first), [], "nothing written into the other user's dir");
    const second = recordedRunroot(join(long.store.root, "lading", "podman"), "root")!;
    assert.notEqual(second, first);
    assert.ok(privateToRoot(second));
    squats.push(second);
  });

  it("an in-store runroot that is not root's own is refused with what to do", async () => {
    const s = await busybox();
    try {
      const inStore = join(s.store.root, "lading", "podman", "root", "run");
      mkdirSync(inStore, { recursive: true, mode: 0o700 });
      chownSync(inStore, otherUid!, otherUid!);
      await assert.rejects(sh(s, s.layers, "true", { runtime: "podman" }), (e: LadingError) => e.code === "RUNTIME_UNAVAILABLE" && e.message.includes(inStore) && /remove it/.test(e.message));
      assert.deepEqual(readdirSync(inStore), []);
    } finally {
      s.cleanup();
    }
  });
});

describe("podman containers of a killed lading", { skip }, () => {
  let b: Busybox;
  before(async () => {
    b = await busybox();
  });
  after(() => b.cleanup());

  /** The names podman lists in the store's podman storage. */
  async function podmanNames(): Promise<string[]> {
    const conf = tempDir("lading-pm-conf-");
    try {
      const { globals, env } = await podmanEnv(b.store, "root", "runc", conf.path);
      const r = await runTool(findTool("podman")!, [...globals, "ps", "-a", "--format", "{{.Names}}"], { env });
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.split("\n").filter(Boolean);
    } finally {
      conf.cleanup();
    }
  }

  it("reapLeftovers removes the container through the same runroot", async () => {
    const child = spawn(process.execPath, [KILL_CHILD, b.store.root, JSON.stringify(b.layers), JSON.stringify(b.env)], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, LADING_RUNTIME: "podman" } });
    const exited = new Promise<void>((r) => child.on("close", () => r()));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on("data", (c: Buffer) => c.toString().includes("ready") && resolve());
      child.on("close", () => reject(new Error("the child ended before its container started")));
    });
    const stateRoot = join(b.store.root, "lading", "runc", "root");
    const [owner] = readdirSync(stateRoot).filter((n) => n.endsWith(".owner.json"));
    const { helperPid } = JSON.parse(readFileSync(join(stateRoot, owner!), "utf8")) as { helperPid: number };
    process.kill(helperPid, "SIGKILL");
    process.kill(child.pid!, "SIGKILL");
    await exited;
    for (let i = 0; i < 200 && pidAlive(helperPid); i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual((await podmanNames()).length, 1, "the container outlives a SIGKILLed helper");
    await reapLeftovers(b.store, EXEC_HELPER, readEnvConfig());
    assert.deepEqual(await podmanNames(), []);
    const r = await sh(b, b.layers, "echo again", { runtime: "podman" });
    assert.equal(r.stdout, "again\n");
  });
});
