/**
 * /etc/hosts, /etc/resolv.conf and /etc/hostname for a RUN: docker writes
 * its own, and they never reach a layer.
 *
 * Over an overlay root they come as a lower layer of their own, above the
 * image's snapshot, rather than as bind mounts: a bind-mounted file cannot
 * be removed or renamed (EBUSY), so `RUN mv /etc /usr/` (a copy and a
 * removal, since overlayfs will not rename a lower directory) failed.
 * buildah, on its vfs storage, renames /etc with the mounts inside it.
 * As with docker's bind mounts, what the command writes to these files
 * does not persist (runtimeFileVerdict); copies of them elsewhere become
 * the image's own version of the file, or nothing when it had none. Over
 * a copied root (no overlayfs), where a rename moves the mounts along,
 * they stay bind mounts. The podman backend is told to bind no hosts or
 * resolv.conf of its own (--no-hosts, --dns none); podman 4 always binds
 * its /etc/hostname (--no-hostname came later), so for podman the layer's
 * /etc/hostname is a link into the container's /dev, where the runtime,
 * resolving the link inside the root, puts that mount: /etc stays movable.
 */
import type { BigIntStats, Stats } from "node:fs";
import { chmod, chown, lstat, mkdir, readFile, readlink, symlink, utimes, writeFile } from "node:fs/promises";
import { join, posix } from "node:path";
import type { RuntimeBackend } from "./backends.js";
import type { ExecNet } from "./job.js";

export const HOSTNAME = "lading";

async function hostResolvConf(): Promise<string> {
  const main = await readFile("/etc/resolv.conf", "utf8").catch(() => "");
  // systemd-resolved's stub (127.0.0.53) is unreachable from other network namespaces; use the real upstreams.
  // Reading the host's resolver config is the point (a container resolves as its host does), and
  // a missing or unreadable file only means the stub's copy is used.
  if (/^nameserver\s+127\.0\.0\.53\s*$/m.test(main)) {
    const upstream = await readFile("/run/systemd/resolve/resolv.conf", "utf8").catch(() => "");
    if (upstream) return upstream;
  }
  return main;
}

function sessionResolvConf(net: ExecNet): string {
  return net.nameserver ? `# lading session network: its names are in /etc/hosts\nnameserver ${net.nameserver}\n` : "# lading session network: names are in /etc/hosts\n";
}

/** The lines every container's /etc/hosts starts with. */
export function baseHosts(hostname: string, ownAddress = "127.0.1.1"): string {
  return `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${ownAddress}\t${hostname}\n`;
}

/** The three files' destinations and contents (see writeEtcFiles for a session network's). */
export async function etcFileTexts(net?: ExecNet): Promise<Array<[string, string]>> {
  const hostname = net?.hostname ?? HOSTNAME;
  return [
    ...(net ? [] : [["/etc/hosts", baseHosts(HOSTNAME)] as [string, string]]),
    ["/etc/resolv.conf", net ? sessionResolvConf(net) : await hostResolvConf()],
    ["/etc/hostname", `${hostname}\n`],
  ];
}

/**
 * The three files in `bundle`. On a session network (`net`) /etc/hosts is
 * the file net/ keeps current, bound as it is; the resolver is the
 * network's own (`net.nameserver`, when it has a way out), else there is
 * none: every name there is in /etc/hosts.
 */
export async function writeEtcFiles(bundle: string, net?: ExecNet): Promise<Array<{ destination: string; source: string }>> {
  const out: Array<{ destination: string; source: string }> = net ? [{ destination: "/etc/hosts", source: net.hostsFile }] : [];
  for (const [destination, text] of await etcFileTexts(net)) {
    const source = join(bundle, destination.slice("/etc/".length));
    await writeFile(source, text, { mode: 0o644 });
    out.push({ destination, source });
  }
  return out;
}

/** podman 4 binds its own /etc/hostname, always: the layer's is a link into the container's /dev, where that mount then lands. */
export const PODMAN_HOSTNAME_LINK = "/dev/.lading-hostname";

/** The runtime's files by name: their contents, or (podman's hostname) the link that stands for them. */
export type EtcPayloads = Map<string, Buffer | { link: string }>;

/**
 * The three files (`texts`, from etcFileTexts) as a lower layer at `dir`
 * (its etc/ as the image's /etc is: mode, owner and times, `etc` being the
 * lstat of the snapshot's /etc), with their contents by name.
 * `backend.bindsOwnHostname`: the hostname is a link (above); the links a
 * backend adds in /etc (podman's /etc/mtab) are made when the image has
 * none. On a session network the runtime binds the network's live
 * /etc/hosts over this layer's copy (it changes while the container runs).
 */
export async function writeEtcLayer(dir: string, snapshot: string, etc: Stats | undefined, texts: Array<[string, string]>, backend: Pick<RuntimeBackend, "bindsOwnHostname" | "addedPaths">): Promise<EtcPayloads> {
  await mkdir(join(dir, "etc"), { recursive: true, mode: 0o755 });
  if (etc) await chown(join(dir, "etc"), etc.uid, etc.gid);
  if (etc) await chmod(join(dir, "etc"), etc.mode & 0o7777);
  const payloads: EtcPayloads = new Map();
  for (const [destination, text] of texts) {
    const name = posix.basename(destination);
    if (name === "hostname" && backend.bindsOwnHostname) {
      await symlink(PODMAN_HOSTNAME_LINK, join(dir, "etc", name));
      payloads.set(name, { link: PODMAN_HOSTNAME_LINK });
      continue;
    }
    const data = Buffer.from(text);
    await writeFile(join(dir, "etc", name), data, { mode: 0o644 });
    payloads.set(name, data);
  }
  for (const added of backend.addedPaths) {
    const name = added.path.slice("/etc/".length);
    if (!added.path.startsWith("/etc/") || name.includes("/") || added.kind !== "symlink" || !added.linkname) continue;
    if (await lstat(join(snapshot, "etc", name)).catch(() => undefined)) continue;
    await symlink(added.linkname, join(dir, "etc", name));
    payloads.set(name, { link: added.linkname });
  }
  // A copy-up takes /etc's times from this layer: the image's own, so a changed /etc keeps them as before.
  if (etc) await utimes(join(dir, "etc"), etc.atime, etc.mtime);
  return payloads;
}

/**
 * What a layer gets for a changed path, given the runtime's files:
 * `undefined` keeps the entry; "drop" leaves it out; a lower path and stat
 * put the image's own /etc file there instead. At /etc/<name> every change
 * but a removal of the image's own file is dropped (docker's bind mounts
 * keep writes out of the image); in another folder named etc (`mv /etc
 * /usr/`, `cp -a /etc /backup/`) a file with exactly the runtime's content
 * under the same name is a copy of it. Anywhere else a file is the
 * command's own (`hostname > /work/hostname` stays).
 */
export async function runtimeFileVerdict(
  payloads: EtcPayloads,
  lower: string,
  path: string,
  abs: string,
  st: BigIntStats,
  whiteout: boolean,
): Promise<undefined | "drop" | { abs: string; st: BigIntStats }> {
  const name = posix.basename(path);
  const payload = payloads.get(name);
  if (!payload) return undefined;
  const own = join(lower, "etc", name);
  const ownSt = await lstat(own, { bigint: true }).catch(() => undefined);
  if (path === `etc/${name}`) return whiteout && ownSt ? undefined : "drop";
  if (whiteout || posix.basename(posix.dirname(path)) !== "etc") return undefined;
  if (Buffer.isBuffer(payload)) {
    if (!st.isFile() || st.size !== BigInt(payload.length) || !(await readFile(abs)).equals(payload)) return undefined;
  } else if (!st.isSymbolicLink() || (await readlink(abs)) !== payload.link) return undefined;
  return ownSt?.isFile() ? { abs: own, st: ownSt } : "drop";
}
