/**
 * Removing what crashed lading processes left in a store, inside the same
 * namespaces their helpers used (so every file is removable and every
 * container signalable): containers whose owning lading and helper are both
 * gone (killed, then deleted with their runtime state), half-made snapshot
 * dirs and exec work dirs of dead processes, and empty lading cgroups.
 */
import { mkdir, readdir, readFile, rm, rmdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { pidAlive } from "../fsutil/pid-alive.js";
import type { ExecStore, OpenExecStore } from "./exec-store.js";
import { identityTag } from "./identity.js";
import type { HelperMessage, ReapJob } from "./job.js";
import { findTool } from "./detect.js";
import { podmanBase, podmanEnv } from "./podman-state.js";
import { runTool } from "./proc.js";
import { runcKill, runcList } from "./runc.js";
import { ownerFile, runtimeStateRoot } from "./state.js";

export async function reapJob(job: ReapJob, send: (m: HelperMessage) => void, openStore: OpenExecStore): Promise<void> {
  const store = await openStore(job.storeRoot); // also sweeps temp dirs of dead processes
  const tag = identityTag(job.identity);
  const reaped: string[] = [];
  // Owner notes are swept from both state roots even when a runtime is gone (podman's are under runc's).
  for (const name of ["runc", "crun"] as const) {
    const path = job.runtimePaths[name];
    const stateRoot = await runtimeStateRoot(store, tag, name);
    const ownerAlive = async (id: string) => {
      try {
        const o = JSON.parse(await readFile(ownerFile(stateRoot, id), "utf8")) as { ownerPid: number; helperPid: number };
        return pidAlive(o.ownerPid) || pidAlive(o.helperPid);
      } catch {
        return false;
      }
    };
    if (path) {
      for (const c of await runcList(path, stateRoot)) {
        if (await ownerAlive(c.id)) continue;
        await runcKill(path, stateRoot, c.id);
        await exited(c.pid);
        reaped.push(c.id);
      }
    }
    for (const n of await readdir(stateRoot).catch(() => [] as string[])) {
      const m = /^(.*)\.owner\.json$/.exec(n);
      if (m && !(await ownerAlive(m[1]!))) await rm(join(stateRoot, n), { force: true });
    }
  }
  const snaps = join(await store.stateDir("snapshots"), tag);
  for (const n of await readdir(snaps).catch(() => [] as string[])) {
    const m = /^\.tmp-(\d+)-/.exec(n);
    if (m && !pidAlive(Number(m[1]))) await rm(join(snaps, n), { recursive: true, force: true }).catch(() => {});
  }
  if (job.identity.kind === "root") {
    await reapCgroups();
    reaped.push(...(await reapPodman(store, tag)));
  }
  send({ type: "reaped", containers: reaped });
}

/**
 * Waits (5 s at most) until the killed container's process `pid` has exited.
 * The runtime's delete can return while it still runs: rootless crun, with
 * no cgroup to wait on, returns once it is signalled, and until it exits it
 * holds its mounts; the reap answers when the container is gone.
 */
async function exited(pid: number): Promise<void> {
  for (let waited = 0; pid > 0 && pidAlive(pid) && waited < 5000; waited += 20) await new Promise((r) => setTimeout(r, 20));
}

async function reapCgroups(): Promise<void> {
  const own = /^0::(.*)$/m.exec(await readFile("/proc/self/cgroup", "utf8").catch(() => ""))?.[1];
  const info = await readFile("/proc/self/mountinfo", "utf8").catch(() => "");
  // The unified hierarchy and, on hybrid hosts, the v1 ones where runc made the parents.
  const mounts = info
    .split("\n")
    .map((l) => l.split(" - "))
    .filter(([, post]) => post?.startsWith("cgroup2 ") || post?.startsWith("cgroup "))
    .map(([pre]) => pre!.split(" ")[4]!);
  if (own === undefined) return;
  for (const mnt of mounts) {
    const dir = join(mnt, own);
    for (const n of await readdir(dir).catch(() => [] as string[])) {
      if (!n.startsWith("lading-")) continue;
      const pid = Number(/^lading-(\d+)-/.exec(n)?.[1] ?? 0);
      if (pid && pidAlive(pid)) continue;
      // The orphaned runtime of a container just killed above may take a moment to exit.
      for (let i = 0; i < 20; i++) {
        for (const leaf of ["runtime", "ctr"]) await rmdir(join(dir, n, leaf)).catch(() => {});
        if (await rmdir(join(dir, n)).then(() => true, (e: NodeJS.ErrnoException) => e.code === "ENOENT")) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
}

/**
 * podman containers in the store's podman storage whose lading is gone
 * (names are `lading-<lading pid>-<random>`), found through the same runroot
 * and config as the runs that made them. Root's only: a rootless podman
 * container lives in its dead helper's namespaces, not in the reaper's.
 */
async function reapPodman(store: ExecStore, tag: string): Promise<string[]> {
  const podman = findTool("podman");
  const base = podmanBase(await store.stateDir("podman"), tag);
  if (!podman || !(await stat(base).then(() => true, () => false))) return [];
  const confDir = store.tempPath("podman-conf");
  await mkdir(confDir, { mode: 0o700 });
  try {
    const { globals, env } = await podmanEnv(store, tag, "runc", confDir);
    const r = await runTool(podman, [...globals, "ps", "-a", "--format", "{{.Names}}"], { env });
    const gone = r.stdout.split("\n").filter((n) => {
      const pid = Number(/^lading-(\d+)-/.exec(n)?.[1] ?? 0);
      return pid > 0 && !pidAlive(pid);
    });
    for (const name of gone) await runTool(podman, [...globals, "rm", "-f", "-t", "0", name], { env });
    return gone;
  } finally {
    await rm(confDir, { recursive: true, force: true });
  }
}
