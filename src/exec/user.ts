/**
 * Resolving a container user ("", "name", "uid", "name:group", "uid:gid")
 * through the root filesystem's /etc/passwd and /etc/group, as docker does:
 * a numeric uid needs no passwd entry; a name must exist; the primary gid
 * comes from passwd unless a group is given; supplementary groups are those
 * that list the user by name.
 */
import { lstat, readFile } from "node:fs/promises";
import { join } from "node:path";
import { LadingError } from "../errors.js";

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}
interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** Reads an /etc file of the rootfs; only a regular file counts (a symlink could point at the host's). */
async function readEtc(rootfs: string, name: string): Promise<string> {
  const p = join(rootfs, "etc", name);
  try {
    const st = await lstat(p);
    if (!st.isFile()) return "";
    return await readFile(p, "utf8");
  } catch {
    return "";
  }
}

function parsePasswd(text: string): PasswdEntry[] {
  return text
    .split("\n")
    .map((l) => l.split(":"))
    .filter((f) => f.length >= 7 && /^\d+$/.test(f[2]!) && /^\d+$/.test(f[3]!))
    .map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]! }));
}

function parseGroup(text: string): GroupEntry[] {
  return text
    .split("\n")
    .map((l) => l.split(":"))
    .filter((f) => f.length >= 4 && /^\d+$/.test(f[2]!))
    .map((f) => ({ name: f[0]!, gid: Number(f[2]), members: f[3]!.split(",").filter(Boolean) }));
}

export async function resolveUser(rootfs: string, spec: string): Promise<ResolvedUser> {
  const passwd = parsePasswd(await readEtc(rootfs, "passwd"));
  const groups = parseGroup(await readEtc(rootfs, "group"));
  const [userPart = "", groupPart] = spec.split(":", 2);
  const who = userPart === "" ? "0" : userPart;
  let entry: PasswdEntry | undefined;
  let uid: number;
  if (/^\d+$/.test(who)) {
    uid = Number(who);
    entry = passwd.find((p) => p.uid === uid);
  } else {
    entry = passwd.find((p) => p.name === who);
    if (!entry) throw new LadingError("INVALID_ARGUMENT", `user "${who}" is not in the image's /etc/passwd; use a numeric uid or create the user first`);
    uid = entry.uid;
  }
  let gid = entry?.gid ?? 0;
  if (groupPart !== undefined && groupPart !== "") {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((x) => x.name === groupPart);
      if (!g) throw new LadingError("INVALID_ARGUMENT", `group "${groupPart}" is not in the image's /etc/group; use a numeric gid or create the group first`);
      gid = g.gid;
    }
  }
  // Docker adds the groups naming the user only when no group was given.
  const additionalGids = groupPart === undefined && entry ? groups.filter((g) => g.members.includes(entry!.name) && g.gid !== gid).map((g) => g.gid) : [];
  return { uid, gid, additionalGids, home: entry?.home || "/" };
}
