/**
 * The messages between a session's network owner (engine/services.ts, in
 * lading's process) and its net helper (serve-net.ts, inside the session's
 * network namespace). Plain data over node's IPC channel, like exec jobs;
 * every request carries an `id`, and every message about it names it, since
 * the net helper runs many at once (services live for as long as they are
 * used, while bound execs come and go beside them).
 */
import type { ExecJob, HelperMessage } from "../exec/job.js";

/** A name a container of the session can resolve, and where it points. */
export interface HostEntry {
  ip: string;
  names: string[];
}

export type NetRequest =
  /** An exec that joins the session network: its own address, the session's names and its bindings' aliases. */
  | { id: number; kind: "exec"; job: ExecJob; aliases: HostEntry[] }
  /**
   * A service: its address is stable for `key` through the session, its
   * `names` resolve from every container, and it is healthy once each of
   * `ports` (TCP) accepts a connection, within `timeoutMs`.
   */
  | { id: number; kind: "service"; key: string; job: ExecJob; hostname: string; names: string[]; aliases: HostEntry[]; ports: number[]; timeoutMs: number }
  /** Ends the service started by request `target`: SIGTERM, then SIGKILL after `graceMs` (at once with `kill`). */
  | { id: number; kind: "stop"; target: number; kill: boolean; graceMs: number }
  /** Serves `socket` (a Unix socket lading's process connects to) by connecting to `ip:port` in the session network. */
  | { id: number; kind: "forward"; socket: string; ip: string; port: number }
  | { id: number; kind: "unforward"; socket: string }
  /** A host's port in the session network: `names` resolve to an address whose `frontend` ports lead to `socket`s lading serves. */
  | { id: number; kind: "hostService"; key: string; names: string[]; ports: Array<{ frontend: number; socket: string }> }
  /** slirp4netns made `tap` in the session namespace (net/outbound.ts): plug it into the bridge, and give containers made from now on their way out through it. */
  | { id: number; kind: "outbound"; tap: string };

export type NetMessage =
  | ({ id: number } & Exclude<HelperMessage, { type: "reaped" }>)
  /** A service's address, once every port accepts. */
  | { id: number; type: "started"; ip: string }
  /** A service's container ended (after `started`, or instead of it: then an error follows). */
  | { id: number; type: "exited"; exitCode: number }
  | { id: number; type: "ok"; ip?: string }
  /** The session network could not be made (sent once, at start, with id 0). */
  | { id: 0; type: "fatal"; message: string };
