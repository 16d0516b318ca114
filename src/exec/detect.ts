/**
 * Finding a runtime and what this machine allows: which of runc, crun,
 * podman is there ($LADING_RUNTIME or the first found), whether lading runs
 * rootless and with subordinate ids, and whether overlayfs can be mounted
 * where the exec helper will mount it (tried, not assumed).
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { LadingError } from "../errors.js";
import { currentIdentity, unshareArgs, type Identity } from "./identity.js";

export type RuntimeName = "runc" | "crun" | "podman";
const RUNTIMES: RuntimeName[] = ["runc", "crun", "podman"];

/** Looks a tool up in PATH and the sbin dirs (runc lives in /usr/sbin, often missing from a user's PATH). */
export function findTool(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** The runtime to use: `wanted` (a session's runtime option, else $LADING_RUNTIME), else the first installed of runc, crun, podman. */
export function chooseRuntime(wanted?: string): { name: RuntimeName; path: string } {
  const asked = wanted || "";
  if (asked) {
    if (!RUNTIMES.includes(asked as RuntimeName)) {
      throw new LadingError("INVALID_ARGUMENT", `unknown runtime "${asked}" (from the runtime option or LADING_RUNTIME): use runc, crun or podman`);
    }
    const path = findTool(asked);
    if (!path) throw new LadingError("RUNTIME_UNAVAILABLE", `runtime "${asked}" is not installed: install the Debian package ${asked} (apt-get install ${asked})`);
    return { name: asked as RuntimeName, path };
  }
  for (const name of RUNTIMES) {
    const path = findTool(name);
    if (path) return { name, path };
  }
  throw new LadingError("RUNTIME_UNAVAILABLE", "no container runtime found (looked for runc, crun, podman): install one, e.g. `apt-get install runc` (Debian package runc)");
}

let overlayProbe: "native" | "userns" | "none" | undefined;

/** Mounts a throwaway overlay in the namespaces the helper uses; cached per process. */
function probeOverlay(id: Identity): "native" | "userns" | "none" {
  if (overlayProbe) return overlayProbe;
  const dir = mkdtempSync(join(tmpdir(), "lading-ovl-"));
  try {
    const script = 'cd "$0" && mkdir l u w m && mount -t overlay overlay -o "lowerdir=l,upperdir=u,workdir=w$1" m && umount m; r=$?; rm -rf l u w m; exit $r';
    const r = spawnSync(findTool("unshare") ?? "unshare", [...unshareArgs(id), "--", "/bin/sh", "-c", script, dir, id.kind === "root" ? "" : ",userxattr"], { stdio: "ignore" });
    overlayProbe = r.status === 0 ? (id.kind === "root" ? "native" : "userns") : "none";
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return overlayProbe;
}

/** What execs will run with here: `runtime` and `subids` as a session has them (LADING_RUNTIME, LADING_SUBIDS). */
export async function detectRuntime(opts: { runtime?: string; subids: boolean }): Promise<{ runtime: string; path: string; rootless: boolean; overlay: "native" | "userns" | "none"; subids: boolean }> {
  const rt = chooseRuntime(opts.runtime);
  const id = currentIdentity(opts.subids);
  return { runtime: rt.name, path: rt.path, rootless: id.kind !== "root", overlay: probeOverlay(id), subids: id.kind !== "single" };
}
