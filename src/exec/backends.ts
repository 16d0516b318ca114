/**
 * Runtime backends behind one interface: the helper prepares a bundle and
 * an OCI spec, and a backend runs it to completion. runc and crun take the
 * same command line; podman runs the same spec as `podman run --rootfs`.
 * execJob never asks which backend it has. Services do not come through
 * here: their containers join network namespaces net/ makes, by the spec
 * (ExecJob.net), through runc or crun.
 */
import type { RuntimeName } from "./detect.js";
import type { BackendRun } from "./backend-run.js";
import { isHybridCgroups } from "./metrics.js";
import { runcKill, runcRun } from "./runc.js";
import type { StubTarget } from "./stubs.js";

export type { BackendRun } from "./backend-run.js";

export interface RuntimeBackend {
  readonly name: RuntimeName;
  /**
   * Who places the container in a cgroup: "own" — lading makes one (as
   * root) so CPU and PSI figures are the container's; "runtime" — the
   * backend does; "hidden" — no cgroup handling at all (crun on a hybrid
   * hierarchy, which it refuses).
   */
  cgroups(asRoot: boolean): "own" | "runtime" | "hidden";
  /** Paths the runtime adds to any root filesystem it runs: made as stubs before and removed after, they leave no trace. */
  readonly addedPaths: readonly StubTarget[];
  /** It binds its own /etc/hostname whatever it is told (podman 4): the /etc layer's hostname is then a link to where that bind lands. */
  readonly bindsOwnHostname: boolean;
  /** Which runtime-state folder (runtimeStateRoot) keeps its containers' owner notes; the reaper sweeps both. */
  readonly stateFolder: "runc" | "crun";
  /** The helper must not take another job after this backend's (mounts it leaves in the helper's namespace). */
  readonly retiresHelper: boolean;
  /** Runs the container to completion: its exit code (128+N when killed by signal N). */
  run(r: BackendRun): Promise<number>;
}

function ociRuntime(name: "runc" | "crun", path: string): RuntimeBackend {
  const hidden = () => name === "crun" && isHybridCgroups();
  return {
    name,
    cgroups: (asRoot) => (hidden() ? "hidden" : asRoot ? "own" : "runtime"),
    addedPaths: [],
    bindsOwnHostname: false,
    stateFolder: name,
    retiresHelper: false,
    async run(r) {
      r.setRunning({ kill: () => runcKill(path, r.stateRoot, r.id) });
      try {
        return await runcRun({ runtimePath: path, stateRoot: r.stateRoot, bundle: r.bundle, id: r.id, spec: r.spec, stdin: r.stdin, output: r.output, hideCgroups: hidden(), ...(r.cgroupLeaf ? { cgroupLeaf: r.cgroupLeaf } : {}) });
      } finally {
        r.setRunning(undefined);
      }
    },
  };
}

function podman(path: string): RuntimeBackend {
  return {
    name: "podman",
    cgroups: () => "runtime",
    // podman adds these to any --rootfs it runs.
    addedPaths: [
      { path: "/run/.containerenv", kind: "file" },
      { path: "/etc/mtab", kind: "symlink", linkname: "/proc/mounts" },
    ],
    bindsOwnHostname: true,
    stateFolder: "runc",
    // Its tmpfs mounts stay in the helper's namespace.
    retiresHelper: true,
    async run(r) {
      const { podmanRun } = await import("./podman.js"); // only podman builds load it
      return podmanRun({ podmanPath: path, store: r.store, tag: r.tag, id: r.id, bundle: r.bundle, spec: r.spec, stdin: r.stdin, output: r.output, setRunning: r.setRunning });
    },
  };
}

/** The backend for a runtime found by chooseRuntime. */
export function backendFor(runtime: { name: RuntimeName; path: string }): RuntimeBackend {
  return runtime.name === "podman" ? podman(runtime.path) : ociRuntime(runtime.name, runtime.path);
}
