/**
 * What a container's command gets besides its root filesystem: its mounts
 * made real on the host, and its secret values. Shared by withExec and by
 * services (engine/services.ts), which run a container's command the same way.
 */
import { chmod, mkdir } from "node:fs/promises";
import { join, posix } from "node:path";
import { LadingError } from "../../errors.js";
import { hexOf, sha256 } from "../../oci/digest.js";
import type { ImageState } from "../image-state.js";
import type { StepContext } from "../step-context.js";
import { resolveOwner } from "../owner.js";
import { materializeTree } from "../materialize.js";
import { treeWalk, type Tree } from "../tree.js";

export function secretValue(ev: StepContext, name: string): Buffer {
  const v = ev.session.secrets.get(name);
  if (!v) throw new LadingError("NOT_FOUND", `secret "${name}" has no value in this session (set it with client.setSecret)`);
  return v;
}

export function collectSecretValues(ev: StepContext, state: ImageState): string[] {
  const names = new Set<string>([...state.secretEnv.map((s) => s.secret.name), ...state.mounts.flatMap((m) => (m.mount.type === "secret" ? [m.mount.secret.name] : []))]);
  return [...names].map((n) => ev.session.secrets.get(n)?.toString("utf8") ?? "").filter((v) => v.length > 0);
}

export async function buildMounts(ev: StepContext, state: ImageState) {
  const session = ev.session;
  const mounts: import("../../exec/run.js").ExecMount[] = [];
  for (const { target, mount } of state.mounts) {
    switch (mount.type) {
      case "cache": {
        const base = await session.store.stateDir("volumes");
        const dir = join(base, hexOf(sha256(mount.volume)));
        const ids = mount.owner ? await resolveOwner(session.store, state.layers, mount.owner) : undefined;
        await mkdir(dir, { recursive: true });
        await session.store.touch({ path: dir });
        if (mount.source) {
          const tree = await ev.directory(mount.source);
          await materializeTree(tree, dir, { onlyIfEmpty: true });
        }
        mounts.push({ type: "cache", target, dir, sharing: mount.sharing, ...(ids ? { uid: ids.uid, gid: ids.gid } : {}), ...(mount.userOwned ? { chownToUser: true } : {}) });
        break;
      }
      case "directory": {
        const tree = await ev.directory(mount.dir);
        const dir = await session.tempDir("mount");
        await materializeTree(tree, dir, {});
        // mkdtemp makes it 0700: the mount point must be as open as docker's (a directory of the context), or a USER other than root cannot enter it.
        if (!hasRootEntry(tree)) await chmod(dir, 0o755);
        const ids = mount.owner ? await resolveOwner(session.store, state.layers, mount.owner) : undefined;
        mounts.push({ type: "bind", target, source: dir, readOnly: !!mount.readOnly, ...(ids ? { uid: ids.uid, gid: ids.gid } : {}), ...(mount.userOwned ? { chownToUser: true } : {}) });
        break;
      }
      case "file": {
        const f = await ev.file(mount.file);
        const dir = await session.tempDir("mount");
        const p = join(dir, posix.basename(target) || "file");
        await materializeTree({ key: f.contentDigest ?? sha256(""), entries: [{ ...f, path: posix.basename(p) }] }, dir, {});
        const ids = mount.owner ? await resolveOwner(session.store, state.layers, mount.owner) : undefined;
        mounts.push({ type: "bind", target, source: p, readOnly: false, ...(ids ? { uid: ids.uid, gid: ids.gid } : {}), ...(mount.userOwned ? { chownToUser: true } : {}) });
        break;
      }
      case "temp":
        mounts.push({ type: "tmpfs", target, ...(mount.copyUp ? { copyUp: true } : {}) });
        break;
      case "secret": {
        const ids = mount.owner ? await resolveOwner(session.store, state.layers, mount.owner) : { uid: 0, gid: 0 };
        mounts.push({ type: "secret", target, data: secretValue(ev, mount.secret.name), mode: mount.mode, uid: ids.uid, gid: ids.gid });
        break;
      }
    }
  }
  return mounts;
}

/** Whether the tree gives its top directory's own mode: "" comes first in path order when it is there. */
function hasRootEntry(tree: Tree): boolean {
  for (const e of treeWalk(tree)) return e.path === "" || e.path === ".";
  return false;
}
