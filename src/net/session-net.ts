/**
 * The session network, from inside it: the net helper runs in a network
 * namespace of its own (made by `unshare --net`, inside lading's user
 * namespace when rootless), where this file makes a bridge; each container
 * that uses services gets a network namespace of its own, held by a small
 * keeper process, joined to the bridge by a veth pair. Nothing here routes
 * to the host: the ways in or out are the Unix-socket relays (relay.ts)
 * and, once `attachOutbound` plugged slirp4netns's tap into the bridge
 * (outbound.ts), the routes each container then gets to slirp4netns.
 *
 * The 10.87.0.0/16 addresses exist only inside these namespaces, so every
 * session uses the same ones. Names are /etc/hosts lines: each container's
 * file starts with its own name and its bindings' aliases, and a service's
 * global names are appended to every live file when it starts, so two
 * services that name each other resolve in either start order (a hosts
 * lookup reads the file each time; an appended line is one write, never a
 * half-written file).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { appendFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LadingError } from "../errors.js";
import { findTool } from "../exec/detect.js";
import { baseHosts } from "../exec/etc-files.js";
import { runTool } from "../exec/proc.js";
import type { HostEntry } from "./messages.js";
import { HOST_LOOPBACK, HOST_NAME, OUTBOUND_MACS, OUTBOUND_NET } from "./outbound.js";

export const BRIDGE = "lading0";
const GATEWAY = "10.87.0.1";
const PREFIX = 16;

function tool(name: string, pkg: string): string {
  const p = findTool(name);
  if (!p) throw new LadingError("RUNTIME_UNAVAILABLE", `\`${name}\` is not installed (services need it for their network): install the Debian package ${pkg}`);
  return p;
}

async function ipBatch(commands: string[], cmd: "ip" | "bridge" = "ip"): Promise<void> {
  const r = await runTool(tool(cmd, "iproute2"), ["-batch", "-"], { input: commands.join("\n") + "\n" });
  if (r.code !== 0) throw new LadingError("RUNTIME_UNAVAILABLE", `setting up the session network (${cmd} ${commands[0]}…): ${r.stderr.trim()}`);
}

function addressOf(n: number): string {
  return `10.87.${n >> 8}.${n & 255}`;
}

export interface ContainerNetns {
  path: string;
  ip: string;
  /** Made with routes out (through slirp4netns). */
  outbound: boolean;
  close(): void;
}

export class SessionNet {
  private next = 2;
  private readonly free: number[] = [];
  private readonly byKey = new Map<string, string>();
  private readonly globals: string[] = [];
  private readonly liveHosts = new Set<string>();
  private files = 0;
  private veths = 0;
  /** slirp4netns's tap is on the bridge: containers made from now on route out through it. */
  outbound = false;

  /** `dir`: where hosts files are written (the session's private folder). */
  constructor(private readonly dir: string) {}

  /** Settles once `setup` made the bridge: a namespace's keeper may start before, its veth joins the bridge after. */
  private bridge?: Promise<void>;

  /** The bridge and loopback of the session namespace. */
  setup(): Promise<void> {
    this.bridge = ipBatch([`link add ${BRIDGE} type bridge`, `addr add ${GATEWAY}/${PREFIX} dev ${BRIDGE}`, `link set ${BRIDGE} up`, "link set lo up"]);
    return this.bridge;
  }

  /** A fresh address (an exec's), given back with `release`. */
  allocate(): string {
    const n = this.free.pop() ?? this.next++;
    if (n >= 65535) throw new LadingError("INTERNAL", "the session network has no address left (65533 containers at once)");
    return addressOf(n);
  }

  release(ip: string): void {
    const [, , a, b] = ip.split(".").map(Number);
    this.free.push((a! << 8) | b!);
  }

  /** The address of `key` (a service's definition): the same through the session, so names once written stay true. */
  addressFor(key: string): string {
    let ip = this.byKey.get(key);
    if (!ip) this.byKey.set(key, (ip = this.allocate()));
    return ip;
  }

  private spare?: Promise<ContainerNetns>;
  /** Every namespace keeper alive, killed when the helper stops (one being made right then may not have its pdeathsig yet). */
  private readonly keepers = new Set<ChildProcess>();

  /** Kills every namespace keeper now (the helper is going). */
  killKeepers(): void {
    for (const k of this.keepers) k.kill("SIGKILL");
    this.keepers.clear();
  }

  /** Starts making the first spare namespace now, beside the bridge (`setup`), so the first container does not wait for it. */
  prime(): void {
    if (this.spare) return;
    this.spare = this.containerNetns(this.allocate());
    this.spare.catch(() => {});
  }

  /**
   * A container's network namespace: for `key` (a service) at its address,
   * else at a fresh one (an exec: `release` its address after `close`).
   * One is made ahead for the next container, as the exec helper pool
   * keeps a helper: its processes are most of a binding's cost.
   */
  async acquire(key?: string): Promise<ContainerNetns> {
    const known = key !== undefined ? this.byKey.get(key) : undefined;
    if (known) return this.containerNetns(known);
    const ready = this.spare ?? this.containerNetns(this.allocate());
    const next = this.containerNetns(this.allocate());
    next.catch(() => {});
    this.spare = next;
    let ns: ContainerNetns;
    try {
      ns = await ready;
    } catch {
      // A spare that failed (its keeper died): one more try, made now.
      ns = await this.containerNetns(this.allocate());
    }
    if (key !== undefined) this.byKey.set(key, ns.ip);
    return ns;
  }

  /**
   * A network namespace at `ip` on the bridge. Its keeper makes the veth
   * pair from inside (the far end moved into this namespace by pid), then
   * sleeps; it dies with the net helper (pdeathsig), and the namespace and
   * the pair with the last process in it.
   */
  async containerNetns(ip: string): Promise<ContainerNetns> {
    const veth = `lv${++this.veths}`;
    // A keeper whose parent is already gone (it died between the fork and the pdeathsig) would never get the signal: it ends at once.
    const script = '[ "$PPID" = "$1" ] || exit 1; shift; printf "%s\\n" "$@" | ip -batch - && echo ready && exec sleep infinity';
    const outbound = this.outbound;
    const cmds = [`link add eth0 type veth peer name ${veth} netns ${process.pid}`, `addr add ${ip}/${PREFIX} dev eth0`, "link set eth0 up", "link set lo up"];
    // slirp4netns answers for its network on the bridge: on link through eth0, and the way to everything else.
    if (outbound) cmds.push(`route add ${OUTBOUND_NET} dev eth0`, `route add default via ${HOST_LOOPBACK}`);
    const keeper = spawn(tool("setpriv", "util-linux"), ["--pdeathsig", "KILL", "--", tool("unshare", "util-linux"), "--net", "--", "/bin/sh", "-c", script, "sh", String(process.pid), ...cmds], { stdio: ["ignore", "pipe", "pipe"] });
    this.keepers.add(keeper);
    keeper.once("exit", () => this.keepers.delete(keeper));
    await readyLine(keeper);
    await this.bridge?.catch(() => {});
    try {
      // The address may be an earlier container's (addresses are given back): its MAC goes from this namespace's cache.
      await ipBatch([`link set ${veth} master ${BRIDGE} up`, `neigh flush to ${ip}`]);
    } catch (e) {
      keeper.kill("SIGKILL");
      throw e;
    }
    return { path: `/proc/${keeper.pid}/ns/net`, ip, outbound, close: () => void keeper.kill("SIGKILL") };
  }

  /** A container's /etc/hosts: its own name, its aliases, and every global name so far (kept current until `close`). */
  async hostsFile(hostname: string, ip: string, aliases: HostEntry[]): Promise<{ path: string; close(): Promise<void> }> {
    const path = join(this.dir, `hosts-${++this.files}`);
    const host = this.outbound ? line({ ip: HOST_LOOPBACK, names: [HOST_NAME] }) : "";
    const text = baseHosts(hostname, ip) + host + aliases.map(line).join("") + this.globals.join("");
    await writeFile(path, text, { mode: 0o644 });
    this.liveHosts.add(path);
    return {
      path,
      close: async () => {
        this.liveHosts.delete(path);
        await rm(path, { force: true });
      },
    };
  }

  /** Names every container of the session resolves, from now on (appended to every live hosts file). */
  async addGlobal(entry: HostEntry): Promise<void> {
    const l = line(entry);
    if (this.globals.includes(l)) return;
    this.globals.push(l);
    await Promise.all([...this.liveHosts].map((p) => appendFile(p, l).catch(() => {})));
  }

  /**
   * Plugs slirp4netns's tap into the bridge: the containers made from now
   * on get routes out. A spare namespace made before has none, so it goes.
   */
  async attachOutbound(tap: string): Promise<void> {
    // The tap gets only what is meant for slirp4netns: broadcasts (ARP for its addresses) and frames to its two
    // MACs, made static so they never age out. Flooded unknown unicast (a frame for a container that is gone, its
    // MAC still in a cache) must not reach it: slirp4netns takes any TCP connection it sees, answers it, and carries
    // it out to the host's network. A health check then saw a port accept that no container had opened.
    await ipBatch([`link set ${tap} master ${BRIDGE}`, `link set dev ${tap} type bridge_slave flood off mcast_flood off`, `link set ${tap} up`]);
    await ipBatch(OUTBOUND_MACS.map((mac) => `fdb replace ${mac} dev ${tap} master static`), "bridge");
    this.outbound = true;
    const stale = this.spare;
    this.spare = undefined;
    // Its address is not given back: its veth may still be on the bridge for a moment.
    void stale?.then((ns) => ns.close(), () => {});
    // The one the first container takes, now with routes out (prime's was made beside the bridge, before the tap).
    if (stale) this.prime();
  }

  /** An extra address on the bridge itself (a host service listens there). */
  async addBridgeAddress(ip: string): Promise<void> {
    await ipBatch([`addr add ${ip}/32 dev ${BRIDGE}`]);
  }
}

function line(e: HostEntry): string {
  return `${e.ip}\t${e.names.join(" ")}\n`;
}

function readyLine(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
    const onData = (c: Buffer) => {
      out += c.toString();
      if (out.includes("ready\n")) {
        child.stdout!.off("data", onData);
        child.stdout!.resume();
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.once("error", reject);
    child.once("exit", (code) => reject(new LadingError("RUNTIME_UNAVAILABLE", `making a container's network namespace failed (exit ${code}): ${err.trim()}`)));
  });
}
