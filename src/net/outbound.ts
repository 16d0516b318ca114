/**
 * The session network's way out: slirp4netns, started from lading's side
 * (it must run in the host's network namespace, where its sockets go out),
 * puts a tap device into the net helper's namespace; serve-net.ts plugs
 * that tap into the bridge. slirp4netns then answers on the bridge as a
 * router at 10.0.2.2 (the host's 127.0.0.1, as slirp4netns maps it) with
 * a DNS forwarder at 10.0.2.3, and carries each connection out through an
 * ordinary socket of lading's user. Containers route 10.0.2.0/24 through
 * their veth and use 10.0.2.2 as their default gateway. Nothing changes on
 * the host: no iptables, no sysctl, no NAT even inside the namespace (the
 * tap sits on the bridge, so slirp4netns sees each container's address).
 *
 * It lives as long as lading's end of its exit fd: a close, an exit or a
 * SIGKILL of lading ends it, and lading ends it with the net helper.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { realpath } from "node:fs/promises";
import type { Socket } from "node:net";
import { LadingError } from "../errors.js";
import { findTool } from "../exec/detect.js";

/** The tap's name in the session namespace (at most 15 bytes). */
export const OUTBOUND_TAP = "lading-out";
/** slirp4netns's own network, routed through each container's veth. */
export const OUTBOUND_NET = "10.0.2.0/24";
/** The gateway: traffic to it reaches the host's 127.0.0.1. */
export const HOST_LOOPBACK = "10.0.2.2";
/** slirp4netns's DNS forwarder (it asks the host's resolvers). */
export const OUTBOUND_DNS = "10.0.2.3";
/**
 * The MACs slirp4netns answers ARP with: 52:55 and then the address asked
 * for (libslirp's rule), for the gateway and for the DNS forwarder.
 */
export const OUTBOUND_MACS = ["52:55:0a:00:02:02", "52:55:0a:00:02:03"];
/** The name containers on the session network reach the host's loopback by. */
export const HOST_NAME = "host.lading.internal";

export interface Outbound {
  pid: number;
  /** Ends slirp4netns (the tap goes with it). */
  close(): void;
}

/** Starts slirp4netns for the network namespace of `targetPid` (the net helper, whose namespaces exist already); resolves once its tap is there. */
export async function startOutbound(targetPid: number): Promise<Outbound> {
  const slirp = findTool("slirp4netns");
  if (!slirp) throw new LadingError("RUNTIME_UNAVAILABLE", "`slirp4netns` is not installed (it gives the session network its way out): install the Debian package slirp4netns");
  // fd 3: exit when lading's end closes; fd 4: "1" once the tap is made. No --configure: the tap is a bridge port, with no address of its own.
  // Its sandbox (a mount namespace holding only /etc and /run) needs the resolver's file there, as podman checks too.
  const resolv = await realpath("/etc/resolv.conf").catch(() => "/etc/resolv.conf");
  const sandbox = /^\/(etc|run)\//.test(resolv) ? ["--enable-sandbox", "--enable-seccomp"] : [];
  const child = spawn(slirp, ["--mtu=65520", "--exit-fd=3", "--ready-fd=4", ...sandbox, String(targetPid), OUTBOUND_TAP], {
    stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"],
  });
  const exitEnd = child.stdio[3] as Socket;
  const close = () => {
    exitEnd.destroy();
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  try {
    await ready(child);
  } catch (e) {
    close();
    throw e;
  }
  // Neither it nor its pipes keep lading running: the session's close ends it, and so does lading's exit.
  child.unref();
  exitEnd.unref();
  (child.stderr as Socket).unref();
  return { pid: child.pid!, close };
}

function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let err = "";
    child.stderr!.on("data", (c: Buffer) => (err = (err + c.toString()).slice(-2000)));
    const readyEnd = child.stdio[4] as Socket;
    readyEnd.on("error", () => {});
    readyEnd.once("data", () => {
      readyEnd.destroy();
      resolve();
    });
    child.once("error", (e) => reject(new LadingError("RUNTIME_UNAVAILABLE", `starting slirp4netns: ${e.message}`, { cause: e })));
    child.once("exit", (code, sig) => {
      const hint = /\/dev\/net\/tun/.test(err) ? " (/dev/net/tun must be readable and writable by every user, mode 0666, as Debian's udev makes it)" : "";
      reject(new LadingError("RUNTIME_UNAVAILABLE", `slirp4netns ended before its tap was ready (${sig ?? "exit " + code}): ${err.trim().split("\n").slice(-3).join("; ")}${hint}`));
    });
  });
}
