import { LadingError } from "../errors.js";
import type { Store } from "../store/store.js";
import type { LayerRef } from "../oci/types.js";

/** The layers' file at `path`: layer-files.ts (and the tar reader behind it) loads only for owners given by name. */
async function readFileFromLayers(store: Store, layers: readonly LayerRef[], path: string): Promise<Buffer | null> {
  return (await import("./layer-files.js")).readFileFromLayers(store, layers, path);
}

/**
 * Resolves an owner string ("uid", "uid:gid", "name", "name:group") the way
 * docker's --chown does: names through the image's /etc/passwd and
 * /etc/group; a user without a group gets the user's primary group when
 * named, else the same id.
 */
export async function resolveOwner(store: Store, layers: readonly LayerRef[], owner: string): Promise<{ uid: number; gid: number }> {
  const [u, g] = owner.split(":", 2) as [string, string | undefined];
  if (!u) throw new LadingError("INVALID_ARGUMENT", `invalid owner "${owner}": expected user[:group]`);
  let uid: number;
  let primaryGid: number | undefined;
  if (/^\d+$/.test(u)) uid = Number(u);
  else {
    const passwd = (await readFileFromLayers(store, layers, "etc/passwd"))?.toString("utf8") ?? "";
    const line = passwd.split("\n").map((l) => l.split(":")).find((f) => f[0] === u);
    if (!line) throw new LadingError("NOT_FOUND", `unable to find user ${u}: no matching entries in the image's /etc/passwd`);
    uid = Number(line[2]);
    primaryGid = Number(line[3]);
  }
  let gid: number;
  if (g === undefined) gid = primaryGid ?? uid;
  else if (/^\d+$/.test(g)) gid = Number(g);
  else {
    const group = (await readFileFromLayers(store, layers, "etc/group"))?.toString("utf8") ?? "";
    const line = group.split("\n").map((l) => l.split(":")).find((f) => f[0] === g);
    if (!line) throw new LadingError("NOT_FOUND", `unable to find group ${g}: no matching entries in the image's /etc/group`);
    gid = Number(line[2]);
  }
  return { uid, gid };
}
