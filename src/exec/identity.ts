/**
 * Who lading is on this machine and how its exec helper gets the ids an
 * image needs. Rootless is the default case: a non-root user runs the
 * helper in a new user + mount namespace, with its own uid mapped to 0 and
 * its subordinate range (/etc/subuid, /etc/subgid, mapped by newuidmap and
 * newgidmap through util-linux `unshare`) mapped to 1..N, so files owned by
 * other ids keep their owners. As root, the helper only gets a private
 * mount namespace (its overlay mounts vanish with it, even on SIGKILL).
 */
import { readFileSync } from "node:fs";
import { userInfo } from "node:os";

export interface SubIdRange {
  start: number;
  count: number;
}

export type Identity =
  | { kind: "root" }
  | { kind: "subids"; uid: number; user: string; subuid: SubIdRange; subgid: SubIdRange }
  | { kind: "single"; uid: number; user: string };

/** The first range of `user` (by name or uid) in a subid file; undefined when it has none. */
export function readSubIds(file: string, user: string, uid: number): SubIdRange | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const [who, start, count] = line.trim().split(":");
    if ((who === user || who === String(uid)) && Number(count) > 0) return { start: Number(start), count: Number(count) };
  }
  return undefined;
}

/** Who runs execs: root, or this user with its subordinate ids (unless `useSubids` is false: LADING_SUBIDS=0), or alone. */
export function currentIdentity(useSubids = true): Identity {
  const uid = process.getuid?.() ?? 0;
  if (uid === 0) return { kind: "root" };
  const user = userInfo().username;
  const subuid = readSubIds("/etc/subuid", user, uid);
  const subgid = readSubIds("/etc/subgid", user, uid);
  if (subuid && subgid && useSubids) return { kind: "subids", uid, user, subuid, subgid };
  return { kind: "single", uid, user };
}

/**
 * A name for the id mapping, part of snapshot paths: a snapshot unpacked
 * under one mapping has other on-disk owners than under another, so they
 * are never shared between mappings.
 */
export function identityTag(id: Identity): string {
  if (id.kind === "root") return "root";
  if (id.kind === "single") return `u${id.uid}`;
  return `u${id.uid}-${id.subuid.start}x${id.subuid.count}-${id.subgid.start}x${id.subgid.count}`;
}

/** The highest uid/gid that exists inside the helper's namespace. */
export function maxMappedId(id: Identity): { uid: number; gid: number } {
  if (id.kind === "root") return { uid: 0xfffffffe, gid: 0xfffffffe };
  if (id.kind === "single") return { uid: 0, gid: 0 };
  return { uid: id.subuid.count, gid: id.subgid.count };
}

/** The `unshare` arguments that put a command into the helper's namespaces. */
export function unshareArgs(id: Identity): string[] {
  const common = ["--mount", "--propagation", "private"];
  if (id.kind === "root") return common;
  const base = ["--user", "--map-root-user", ...common];
  if (id.kind === "single") return base;
  return [...base, `--map-users=${id.subuid.start},1,${id.subuid.count}`, `--map-groups=${id.subgid.start},1,${id.subgid.count}`];
}

/**
 * The environment of a helper (a node process of lading's own, under
 * unshare): this process's, less the extra CA file node would parse as the
 * helper starts (~25 ms) though a helper never speaks TLS.
 */
export function helperEnv(): NodeJS.ProcessEnv {
  const { NODE_EXTRA_CA_CERTS: _node, LADING_EXTRA_CA_CERTS: _lading, ...env } = process.env;
  return env;
}

/** What to tell a user whose image needs ids their namespace cannot hold. */
export function subIdAdvice(id: Identity): string {
  const who = id.kind === "root" ? "root" : id.user;
  return (
    `lading runs rootless as ${who} without subordinate ids, so only uid/gid 0 exist in its user namespace. ` +
    `Give ${who} a range (as root: \`usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${who}\`, ` +
    `or add "${who}:100000:65536" to /etc/subuid and /etc/subgid) and install newuidmap/newgidmap (Debian package uidmap).`
  );
}
