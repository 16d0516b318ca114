/**
 * One exec, inside the helper's namespaces: snapshot → writable root →
 * runtime spec → run → diff → one layer. Everything that touches files of
 * other owners happens here, where those owners exist.
 *
 * Partial-failure state: the work dir (store temp, named after this pid)
 * and the runtime state are removed in `finally`; if this process is killed
 * first, the mount vanishes with its mount namespace and reapLeftovers
 * removes the rest on the next run.
 */
import { existsSync, rmSync } from "node:fs";
import { chmod, chown, mkdir, rm, stat, truncate, writeFile } from "node:fs/promises";
import { dirname, join, posix } from "node:path";
import { LadingError } from "../errors.js";
import type { LayerEntry } from "../oci/layer-entry.js";
import { backendFor } from "./backends.js";
import { copyDiff, overlayDiff } from "./diff.js";
import type { ExecStore, OpenExecStore } from "./exec-store.js";
import { HOSTNAME, runtimeFileVerdict, writeEtcFiles, type EtcPayloads } from "./etc-files.js";
import { etcLayerFor, type EtcLayer } from "./etc-layers.js";
import { identityTag, subIdAdvice } from "./identity.js";
import type { ExecJob, HelperMessage, HelperMetrics, OutputSink } from "./job.js";
import { containerRlimits } from "./limits.js";
import { cacheLockName, claimPrivateCache } from "./cache-claim.js";
import { childrenCpu, hostCpuPressure, openCgroup, withPressure, type CgroupProbe } from "./metrics.js";
import { prepareRootfs } from "./rootfs.js";
import { ensureSnapshot } from "./snapshots.js";
import { buildSpec, type SpecMount } from "./spec.js";
import { chownTree } from "./chown-tree.js";
import { runTool } from "./proc.js";
import { createStubs, removeStubs, type StubTarget } from "./stubs.js";
import { resolveUser } from "./user.js";
import { ownerFile, runtimeStateRoot } from "./state.js";

/** Where the init appears in the container. */
const INIT_PATH = "/dev/.lading-init";

export interface Running {
  kill(): Promise<void>;
}

export type ExecAnswer = Extract<HelperMessage, { type: "result" }>;

interface Opened {
  store: ExecStore;
  /** This helper's folder for the /etc layers it keeps (etc-layers.ts). */
  etcLayers: string;
  /**
   * A runtime bundle (config.json, the runtime's log, the /etc files of a
   * copied root) kept by the helper for one exec at a time (`bundleBusy`;
   * the net helper runs several at once, the others get their own): files
   * rewritten in place are no new inodes. On this project's VMs the store's
   * ext4 has no journal, where each new inode is a scan past those freed in
   * the last minute (~0.5 ms apiece; an exec made a dozen). Removed at exit,
   * swept with the helper's temp files if it is killed.
   */
  bundle: Promise<string>;
  bundleBusy: boolean;
}

const bundles: string[] = [];
process.on("exit", () => {
  for (const b of bundles) rmSync(b, { recursive: true, force: true });
});

function helperBundle(store: ExecStore): Promise<string> {
  const dir = store.tempPath("bundle");
  bundles.push(dir);
  return mkdir(dir, { mode: 0o700 }).then(() => dir);
}

/** One store per root for the helper's life: opening one sweeps temp dirs, once is enough. */
const stores = new Map<string, { opened: Promise<Opened>; tempDir?: string }>();
function openOnce(open: OpenExecStore, root: string): Promise<Opened> {
  let s = stores.get(root);
  // A store removed and made again at the same path (tests do) is opened afresh.
  if (s?.tempDir && !existsSync(s.tempDir)) s = undefined;
  if (!s) {
    const entry: { opened: Promise<Opened>; tempDir?: string } = { opened: open(root).then((store) => ({ store, etcLayers: store.tempPath("etc"), bundle: helperBundle(store), bundleBusy: false })) };
    entry.opened.then((o) => (entry.tempDir = dirname(o.store.tempPath())), () => stores.delete(root));
    stores.set(root, entry);
    s = entry;
  }
  return s.opened;
}

/**
 * `answer` is called with the result before the mounts and the work dir go.
 * The clean-up then waits for `idle` (no job between its arrival and its
 * answer), so it never competes with the next exec for the CPU: in a build,
 * it runs while lading works on the step's result.
 */
export async function execJob(
  job: ExecJob,
  openStore: OpenExecStore,
  send: (m: HelperMessage) => void,
  answer: (m: ExecAnswer) => void,
  output: OutputSink,
  setRunning: (r: Running | undefined) => void,
  stopped: () => boolean = () => false,
  idle: () => Promise<void> = async () => {},
): Promise<void> {
  const debug = (msg: string) => send({ type: "debug", msg });
  // Where an exec's time goes (the --debug line "exec phases"): what a no-op exec costs beyond the runtime's own run.
  const phases: string[] = [];
  let mark = process.hrtime.bigint();
  const phase = (name: string) => {
    const now = process.hrtime.bigint();
    phases.push(`${name} ${(Number(now - mark) / 1e6).toFixed(1)}`);
    mark = now;
  };
  const opened = await openOnce(openStore, job.storeRoot);
  const { store, etcLayers } = opened;
  const inUserns = job.identity.kind !== "root";
  const singleId = job.identity.kind === "single";
  const tag = identityTag(job.identity);
  const backend = backendFor(job.runtime);
  const cgroups = backend.cgroups(job.identity.kind === "root");
  let snapshot: string;
  try {
    snapshot = await ensureSnapshot(store, job.layers, tag, debug);
  } catch (err) {
    if (singleId && isIdError(err)) {
      throw new LadingError("RUNTIME_UNAVAILABLE", `unpacking the image failed: it has files owned by ids other than 0. ${subIdAdvice(job.identity)}`, { cause: err });
    }
    throw err;
  }
  phase("snapshot");
  const work = store.tempPath("exec");
  await mkdir(work, { mode: 0o700 });
  // Taken and given back synchronously around its use: the check and the claim cannot interleave with another job.
  let holdsBundle = !opened.bundleBusy;
  opened.bundleBusy = true;
  const giveBackBundle = () => {
    if (holdsBundle) opened.bundleBusy = false;
    holdsBundle = false;
  };
  const ownBundle = !holdsBundle;
  let bundle: string;
  try {
    bundle = ownBundle ? join(work, "bundle") : await opened.bundle;
  } catch (err) {
    giveBackBundle();
    throw err;
  }
  let unmount: (() => Promise<void>) | undefined;
  let probe: CgroupProbe | undefined;
  let owner: string | undefined;
  const releases: Array<() => Promise<void>> = [];
  let answered = false;
  let etcLayer: EtcLayer | undefined;
  try {
    // Independent steps side by side: the overlay mount (after its /etc layer), the user, the runtime state, the cgroup.
    // The user is read from the snapshot: until the command runs, the root filesystem is the snapshot.
    const [rootfs, user, stateRoot, , cgroup] = await Promise.all([
      // The /etc files as a layer over the snapshot (see etc-files.ts), kept from an earlier exec when equal; the overlay mount needs it.
      // On a session network /etc/hosts changes while the container runs: the live file is bound over the layer's copy.
      (job.overlay ? etcLayerFor(etcLayers, snapshot, backend, job.net) : Promise.resolve(undefined))
        .then((l) => ((etcLayer = l), prepareRootfs(snapshot, work, inUserns, job.overlay, debug, l?.dir)))
        .then((r) => ((unmount = r.unmount), r)),
      resolveUser(snapshot, job.user),
      runtimeStateRoot(store, tag, backend.stateFolder),
      ownBundle ? mkdir(bundle, { mode: 0o700 }) : undefined,
      cgroups === "own" ? openCgroup(job.containerId, job.cgroup).then((p) => ((probe = p), p)) : undefined,
    ]);
    // Over overlayfs the /etc files are a layer (rootfs.above), and only a session network's live /etc/hosts is bound
    // over it (its target is the layer's file: no stub, no copy-up of /etc); over a copied root all three are bind mounts.
    const etcLayered = !!rootfs.above;
    const etcPayloads: EtcPayloads | undefined = etcLayered ? etcLayer?.payloads : undefined;
    const etcFiles = etcLayered ? (job.net ? [{ destination: "/etc/hosts", source: job.net.hostsFile }] : []) : await writeEtcFiles(bundle, job.net);
    phase("rootfs+user+cgroup");
    owner = ownerFile(stateRoot, job.containerId);
    if (singleId && (user.uid !== 0 || user.gid !== 0)) {
      throw new LadingError("RUNTIME_UNAVAILABLE", `cannot run as user "${job.user}" (uid ${user.uid}, gid ${user.gid}): ${subIdAdvice(job.identity)}`);
    }

    const extraMounts: SpecMount[] = [];
    const stubs: StubTarget[] = [
      { path: "/proc", kind: "dir" },
      { path: "/dev", kind: "dir" },
      { path: "/sys", kind: "dir" },
      ...(etcLayered ? [] : etcFiles.map((f): StubTarget => ({ path: f.destination, kind: "file" }))),
      // What the runtime adds to any root it runs; over overlayfs, what it adds in /etc is in the /etc layer.
      ...backend.addedPaths.filter((p) => !(etcLayered && p.path.startsWith("/etc/"))),
    ];
    const locks: string[] = [];
    let secretN = 0;
    let ownedN = 0;
    for (const m of job.mounts) {
      const target = posix.resolve("/", m.target);
      if (m.type === "cache") {
        let dir = m.dir;
        if (m.sharing === "PRIVATE") {
          const claim = await claimPrivateCache(store, m.dir);
          releases.push(claim.release);
          dir = claim.dir;
          if (dir !== m.dir) debug(`cache ${target}: in use by another exec, a private copy is used (${posix.basename(dir)})`);
        }
        if (m.uid !== undefined) await chown(dir, m.uid, m.gid ?? m.uid).catch(() => {});
        if (m.chownToUser) await chownTree(dir, user.uid, user.gid);
        if (m.sharing === "LOCKED") locks.push(cacheLockName(m.dir));
        extraMounts.push({ destination: target, type: "bind", source: dir, options: ["rbind", "rw"] });
        stubs.push({ path: target, kind: "dir" });
      } else if (m.type === "bind") {
        const isDir = (await stat(m.source)).isDirectory();
        let source = m.source;
        // An explicit owner wins over option U, as for cache mounts: the caller named the ids.
        const owner = m.uid !== undefined ? { uid: m.uid, gid: m.gid ?? m.uid } : m.chownToUser ? user : undefined;
        if (owner) {
          // A copy in the work dir, which this helper removes: rootless, the caller could not remove files it chowned to a subordinate id.
          source = join(work, `owned-${ownedN++}`);
          const cp = await runTool("cp", ["-a", "--reflink=auto", m.source, source]);
          if (cp.code !== 0) throw new LadingError("INTERNAL", `copying the mount for ${target} (owner): ${cp.stderr.trim()}`);
          await chownTree(source, owner.uid, owner.gid);
        }
        extraMounts.push({ destination: target, type: "bind", source, options: ["rbind", m.readOnly ? "ro" : "rw"] });
        stubs.push({ path: target, kind: isDir ? "dir" : "file" });
      } else if (m.type === "tmpfs") {
        // runc's tmpcopyup extension fills the tmpfs with what the root filesystem has there.
        extraMounts.push({ destination: target, type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777", ...(m.copyUp ? ["tmpcopyup"] : [])] });
        stubs.push({ path: target, kind: "dir" });
      } else {
        // In the exec's own work dir (the bundle is the helper's), removed with it.
        const dir = join(work, "secrets");
        await mkdir(dir, { recursive: true, mode: 0o755 });
        const file = join(dir, String(secretN++));
        await writeFile(file, m.data, { mode: 0o600 });
        await chown(file, m.uid, m.gid).catch(() => {});
        await chmod(file, m.mode);
        extraMounts.push({ destination: target, type: "bind", source: file, options: ["rbind", "ro", "nosuid", "nodev", "noexec"] });
        stubs.push({ path: target, kind: "file" });
      }
    }
    // The init goes into the container's /dev (a tmpfs the runtime makes), so the root filesystem never holds it.
    if (job.init) extraMounts.push({ destination: INIT_PATH, type: "bind", source: job.init, options: ["rbind", "ro"] });
    const created = await createStubs(rootfs.merged, stubs);
    if (cgroups === "hidden") debug(`${backend.name}: cgroups hidden and unmanaged (it refuses this host's hybrid cgroup hierarchy)`);
    const env = withDefaults([...job.env, ...Object.entries(job.secretEnv).map(([k, v]) => `${k}=${v}`)], user.home, job.net?.hostname ?? HOSTNAME);
    const spec = buildSpec({
      rootfs: rootfs.merged,
      // tini's exit code is the command's, 128+N when a signal N ended it (as without it).
      args: job.init ? [INIT_PATH, "--", ...job.args] : job.args,
      env,
      cwd: job.cwd,
      user,
      network: job.net ? { path: job.net.netnsPath } : job.network,
      allCaps: job.insecureRootCapabilities,
      inUserns,
      singleId,
      hostname: job.net?.hostname ?? HOSTNAME,
      etcFiles,
      extraMounts,
      rlimits: containerRlimits(),
      ...(cgroup ? { cgroupsPath: cgroup.containerPath } : {}),
    });
    await writeFile(owner, JSON.stringify({ ownerPid: job.ownerPid, helperPid: process.pid, work }));
    phase("mounts+stubs+spec");
    const before = childrenCpu();
    const hostBefore = hostCpuPressure();
    const started = process.hrtime.bigint();
    const run = () => backend.run({ store, tag, id: job.containerId, bundle, spec, stdin: job.stdin, stateRoot, output, setRunning, ...(cgroup ? { cgroupLeaf: cgroup.leaf } : {}) });
    // The spec holds the secret variables: emptied in place as soon as the runtime is done (no new inode next
    // time), never left for the next exec; here, before the answer, so it cannot race the next job's spec.
    // The secret files go then too, not with the work dir after the answer: once an exec has answered, no
    // secret of it is in the store.
    const exitCode = await withLocks(store, locks, run).finally(async () => {
      await truncate(join(bundle, "config.json")).catch(() => {});
      giveBackBundle();
      if (secretN > 0) await rm(join(work, "secrets"), { recursive: true, force: true }).catch(() => {});
    });
    phase(backend.name);
    // Free for the build's next step at once (the clean-up after the answer would be too late).
    await releaseAll(releases);
    // Cancelled or orphaned: the container was killed; its half-done changes make no layer.
    if (stopped()) throw new LadingError("CANCELLED", "exec cancelled");
    void started;
    let metrics: HelperMetrics;
    if (cgroup) {
      metrics = await cgroup.read();
    } else {
      const after = childrenCpu();
      metrics = { source: "rusage", cpuUserSeconds: round(after.user - before.user), cpuSystemSeconds: round(after.system - before.system) };
    }
    metrics = withPressure(metrics, hostBefore);
    // A service's changes die with it (as Dagger's): its end is its only result.
    if (job.service) {
      answer({ type: "result", exitCode, metrics });
      answered = true;
      return;
    }
    await removeStubs(rootfs.merged, created, stubs);
    phase("metrics+stubs");
    let entries: LayerEntry[];
    const payloads = etcPayloads;
    const verdict = payloads ? (path: string, abs: string, st: import("node:fs").BigIntStats, wh: boolean) => runtimeFileVerdict(payloads, rootfs.lower, path, abs, st, wh) : undefined;
    if (rootfs.kind === "overlay") entries = await overlayDiff(rootfs.upper!, rootfs.lower, rootfs.merged, debug, verdict);
    else entries = await copyDiff(rootfs.merged, rootfs.lower, debug);
    debug(`diff: ${entries.length} entr${entries.length === 1 ? "y" : "ies"} (${rootfs.kind})`);
    phase("diff");
    // Loaded only when needed: the helper starts for every exec, and most of its start-up is module loading.
    const layer = entries.length ? await (await import("../oci/layer-writer.js")).writeLayer(store, entries, job.layer) : undefined;
    phase("layer");
    debug(`exec phases (ms): ${phases.join(", ")}`);
    answer({ type: "result", exitCode, metrics, ...(layer ? { layer } : {}) });
    answered = true;
  } finally {
    giveBackBundle();
    if (answered) await idle();
    await probe?.remove().catch(() => {});
    await unmount?.().catch(() => {});
    etcLayer?.release();
    if (owner) await rm(owner, { force: true }).catch(() => {});
    await releaseAll(releases);
    await rm(work, { recursive: true, force: true }).catch(() => {});
  }
}

async function releaseAll(releases: Array<() => Promise<void>>): Promise<void> {
  for (const release of releases.splice(0)) await release().catch(() => {});
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function withDefaults(env: string[], home: string, hostname: string): string[] {
  const has = (k: string) => env.some((e) => e.startsWith(k + "="));
  const out = [...env];
  if (!has("PATH")) out.push("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  if (!has("HOME")) out.push(`HOME=${home}`);
  if (!has("HOSTNAME")) out.push(`HOSTNAME=${hostname}`);
  return out;
}

async function withLocks<T>(store: ExecStore, names: string[], fn: () => Promise<T>): Promise<T> {
  if (names.length === 0) return fn();
  const [first, ...rest] = names;
  return store.withLock(first!, () => withLocks(store, rest, fn), { waitForever: true });
}

/** An lchown refused for an id the namespace does not map (EINVAL) or may not use (EPERM), anywhere in the cause chain. */
function isIdError(err: unknown): boolean {
  for (let e = err as { code?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === "EINVAL" || e.code === "EPERM") return true;
  }
  return false;
}
