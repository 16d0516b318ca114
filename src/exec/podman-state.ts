/**
 * Where podman keeps its state for a store and id mapping, and the config
 * files that keep it there. Everything podman reads or writes is either in
 * the store's podman state folder (one per id mapping) or in a runroot only lading's user
 * can have made, so no earlier run, other user or machine-wide container
 * config (/etc/containers, ~/.config/containers, /run/runc, /run/crun,
 * /dev/shm/libpod_lock, /etc/cni) changes what a step gives.
 */
import { lstat, mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LadingError } from "../errors.js";
import { writeFileAtomic } from "../fsutil/atomic.js";
import type { ExecStore } from "./exec-store.js";
import { findTool } from "./detect.js";
import { runTool } from "./proc.js";

/** podman refuses a longer runroot (its sockets live there and must fit in sun_path). */
const RUNROOT_MAX = 50;

/** The podman folder for one id mapping, in the store's podman state folder (not made here: the reaper only looks). */
export function podmanBase(podmanDir: string, tag: string): string {
  return join(podmanDir, tag);
}

/** The runroot podman's database was made with (podman refuses to open it with another). */
function runrootRecord(base: string): string {
  return join(base, "runroot-path");
}

/** The recorded runroot, if any (tests remove it with the store); `podmanDir` is the store's podman state folder. */
export function recordedRunroot(podmanDir: string, tag: string): string | undefined {
  return readRecord(podmanBase(podmanDir, tag));
}

function readRecord(base: string): string | undefined {
  try {
    return readFileSync(runrootRecord(base), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * podman's transient state: `run` in the mapping's podman folder when that
 * path fits podman's limit, else a mkdtemp dir (random name, made 0700 by
 * us, so nobody else can have made it first) whose path is recorded in the
 * store and reused by every later run and by the reaper. A recorded dir is
 * checked before each use; if it is gone (reboot, temp cleaner) or is no
 * longer ours, a fresh one replaces it.
 */
async function podmanRunroot(store: ExecStore, base: string, tag: string): Promise<string> {
  const inStore = join(base, "run");
  return store.withLock(`podman-runroot-${tag}`, async () => {
    const recorded = readRecord(base);
    let runroot: string;
    if (inStore.length <= RUNROOT_MAX) {
      await mkdir(inStore, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== "EEXIST") throw e;
      });
      await assertPrivateDir(inStore);
      runroot = inStore;
    } else if (recorded && recorded !== inStore && (await isPrivateDir(recorded))) {
      runroot = recorded;
    } else {
      runroot = await mkdtemp(join(shortTempDir(), "lading-pm-"));
    }
    if (runroot !== recorded) {
      // podman's database names the runroot it was made with and will not open with another. Its
      // containers are transient (all run with --rm; a new runroot means the old one's state is
      // gone), so podman starts afresh: this also moves stores from the old /tmp/lading-pm-<hash>.
      await Promise.all(["root", "tmp"].map((d) => rm(join(base, d), { recursive: true, force: true })));
      await writeFileAtomic(runrootRecord(base), runroot + "\n", 0o600);
    }
    return runroot;
  }, { waitForever: true });
}

/** $TMPDIR when a runroot made in it fits podman's limit, else /tmp (mkdtemp is safe in either). */
function shortTempDir(): string {
  const t = tmpdir();
  return join(t, "lading-pm-XXXXXX").length <= RUNROOT_MAX ? t : "/tmp";
}

/** A real directory (not a symlink) owned by our euid that no one else can enter. */
async function isPrivateDir(path: string): Promise<boolean> {
  const st = await lstat(path).catch(() => undefined);
  return !!st && st.isDirectory() && st.uid === process.geteuid!() && (st.mode & 0o077) === 0;
}

async function assertPrivateDir(path: string): Promise<void> {
  if (await isPrivateDir(path)) return;
  throw new LadingError(
    "RUNTIME_UNAVAILABLE",
    `podman's state folder ${path} is not a private folder of this user (it must be a directory, not a symlink, owned by uid ${process.geteuid!()} with mode 0700): another user may have made it; remove it and run again`,
  );
}

export interface PodmanEnv {
  /** podman's global flags. */
  globals: string[];
  /** The environment podman runs with: only lading's config files. */
  env: NodeJS.ProcessEnv;
}

/**
 * podman's flags and environment for `store`, running containers with
 * `runtime`. The config files go to `confDir` (a run's bundle, or a temp
 * dir for the reaper); `ulimits` become the containers' default ulimits
 * (podman 4.3 ignores --ulimit with --rootfs but honours these).
 */
export async function podmanEnv(store: ExecStore, tag: string, runtime: "runc" | "crun", confDir: string, ulimits: string[] = []): Promise<PodmanEnv> {
  const base = podmanBase(await store.stateDir("podman"), tag);
  const empty = join(base, "empty");
  await mkdir(empty, { recursive: true, mode: 0o700 });
  const runroot = await podmanRunroot(store, base, tag);
  const q = (s: string) => JSON.stringify(s);
  const runtimePath = findTool(runtime);
  if (!runtimePath) throw new LadingError("RUNTIME_UNAVAILABLE", `the podman backend needs ${runtime} (Debian package ${runtime}), which is not installed`);
  // The runtime's own state goes beside podman's, not in its default /run/runc or /run/crun
  // (machine-wide and, rootless, not creatable). podman's --runtime-flag would not reach the
  // runtime when conmon's exit command (podman container cleanup) deletes the container, so
  // the runtime podman knows by that name is a wrapper that always passes --root.
  const wrapper = join(confDir, runtime);
  const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  await writeFile(wrapper, `#!/bin/sh\nexec ${sq(runtimePath)} --root ${sq(join(runroot, runtime))} "$@"\n`, { mode: 0o700 });
  const conf = [
    "[containers]",
    `default_ulimits = [${ulimits.map(q).join(", ")}]`,
    "[engine]",
    // conmon hands the exit command (podman container cleanup) only CONTAINERS_CONF; this gives it the rest.
    `env = [${[`CONTAINERS_STORAGE_CONF=${join(confDir, "storage.conf")}`, `CONTAINERS_REGISTRIES_CONF=${join(confDir, "registries.conf")}`].map(q).join(", ")}]`,
    // OCI hooks from /usr/share/containers/oci/hooks.d and /etc/containers/oci/hooks.d would run.
    `hooks_dir = [${q(empty)}]`,
    // shm locks live in /dev/shm/libpod_lock, shared with every podman on the machine (and, in
    // lading's user namespace, one made by real root cannot be opened); file locks sit in --tmpdir.
    'lock_type = "file"',
    "[network]",
    // podman takes a lock file here even with --network none/host; the default is /etc/cni/net.d.
    `network_config_dir = ${q(join(base, "net"))}`,
    "[engine.runtimes]",
    `${runtime} = [${q(wrapper)}]`,
    "",
  ].join("\n");
  const storage = ["[storage]", 'driver = "vfs"', `graphroot = ${q(join(base, "root"))}`, `runroot = ${q(runroot)}`, ""].join("\n");
  await Promise.all([
    writeFile(join(confDir, "containers.conf"), conf, { mode: 0o600 }),
    writeFile(join(confDir, "storage.conf"), storage, { mode: 0o600 }),
    // No image is ever pulled, but should podman look up a registry, the machine's list must not count.
    writeFile(join(confDir, "registries.conf"), "", { mode: 0o600 }),
  ]);
  return {
    globals: [
      "--root", join(base, "root"), "--runroot", runroot, "--tmpdir", join(base, "tmp"),
      "--cgroup-manager=cgroupfs", "--runtime", runtime, "--storage-driver", "vfs", "--events-backend", "none",
    ],
    env: {
      ...withoutRegistryLogins(process.env),
      CONTAINERS_CONF: join(confDir, "containers.conf"),
      CONTAINERS_STORAGE_CONF: join(confDir, "storage.conf"),
      CONTAINERS_REGISTRIES_CONF: join(confDir, "registries.conf"),
    },
  };
}

/**
 * The environment less the user's registry login files: podman pulls
 * nothing here (--rootfs), yet 4.3 stats $DOCKER_CONFIG/config.json at
 * start and fails when that folder has none.
 */
function withoutRegistryLogins(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { DOCKER_CONFIG: _d, REGISTRY_AUTH_FILE: _r, ...rest } = env;
  return rest;
}

/**
 * podman binds the files listed in these into every container (and makes
 * their mount points in our root filesystem), whatever containers.conf's
 * default_mounts_file says: each one present is covered with an empty file,
 * in the helper's own mount namespace (nothing else sees it), once per helper.
 */
const MACHINE_MOUNTS_CONFS = ["/usr/share/containers/mounts.conf", "/etc/containers/mounts.conf"];
let mountsConfsHidden = false;

export async function hideMachineMountsConfs(store: ExecStore, tag: string): Promise<void> {
  if (mountsConfsHidden) return;
  const empty = join(podmanBase(await store.stateDir("podman"), tag), "empty.conf");
  await writeFile(empty, "", { mode: 0o644 });
  for (const f of MACHINE_MOUNTS_CONFS) {
    if (!(await stat(f).then((st) => st.isFile(), () => false))) continue;
    const r = await runTool("mount", ["--bind", "-o", "ro", empty, f]);
    if (r.code !== 0) throw new LadingError("RUNTIME_UNAVAILABLE", `podman would bind the mounts listed in ${f} into the container, and lading could not hide that file: ${r.stderr.trim()}`);
  }
  mountsConfsHidden = true;
}
