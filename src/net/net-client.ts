/**
 * lading's side of a session network: starts the net helper (serve-net.ts)
 * in a new network namespace — inside lading's user and mount namespaces
 * made as for an exec helper (identity.ts), so rootless needs nothing
 * from the host — and carries requests to it. One per session, made when
 * the first service or binding needs it; `close` ends it and with it every
 * container, network namespace, veth pair and mount it made.
 *
 * The helper's folder (hosts files, relay sockets) is a short path under
 * the system's temp dir (a Unix socket path holds at most 107 bytes),
 * named after lading's pid so the next run removes it if lading died.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LadingError, type LadingErrorCode } from "../errors.js";
import { findTool } from "../exec/detect.js";
import { helperEnv, unshareArgs, type Identity } from "../exec/identity.js";
import { Tail } from "../exec/run.js";
import { pidAlive } from "../fsutil/pid-alive.js";
import type { NetMessage, NetRequest } from "./messages.js";
import { OUTBOUND_TAP, startOutbound, type Outbound } from "./outbound.js";

type Body<K extends NetRequest["kind"]> = Omit<Extract<NetRequest, { kind: K }>, "id">;

export interface RequestHandlers {
  onOutput?: (stream: "stdout" | "stderr", chunk: Buffer) => void;
  debug?: (msg: string) => void;
  /** Messages after the answer (a service's `exited`). */
  after?: (m: NetMessage) => void;
}

const PREFIX = "lading-net-";

/** Removes helper folders of lading processes that are gone; returns how many. */
export async function sweepNetDirs(): Promise<number> {
  let n = 0;
  for (const name of await readdir(tmpdir()).catch(() => [] as string[])) {
    const pid = Number(new RegExp(`^${PREFIX}(\\d+)-`).exec(name)?.[1] ?? 0);
    if (pid && !pidAlive(pid)) {
      await rm(join(tmpdir(), name), { recursive: true, force: true }).catch(() => {});
      n++;
    }
  }
  return n;
}

export class NetClient {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(m: NetMessage): void; reject(e: Error): void; h: RequestHandlers; answered: boolean }>();
  private ownOutput = new Tail(64 * 1024);
  private closed = false;
  /** slirp4netns, once `enableOutbound` started it. */
  outbound?: Outbound;
  /** Rejected when the helper ends or cannot make its network. */
  readonly ready: Promise<void>;

  private constructor(private readonly child: ChildProcess, readonly dir: string) {
    let ready!: () => void;
    let failed!: (e: Error) => void;
    this.ready = new Promise<void>((res, rej) => ((ready = res), (failed = rej)));
    this.ready.catch(() => {});
    const own = (c: Buffer) => this.ownOutput.push(c);
    child.stdout!.on("data", own);
    child.stderr!.on("data", own);
    child.on("message", (m: NetMessage) => {
      if (m.id === 0) {
        if (m.type === "fatal") failed(new LadingError("RUNTIME_UNAVAILABLE", m.message));
        else ready();
        return;
      }
      const w = this.waiting.get(m.id);
      if (!w) return;
      if (m.type === "debug") return w.h.debug?.(m.msg);
      if (m.type === "output") return w.h.onOutput?.(m.stream, Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength));
      if (w.answered) return w.h.after?.(m);
      w.answered = true;
      w.resolve(m);
    });
    child.on("exit", (code, sig) => {
      // Its tap holds the namespace: slirp4netns goes with the helper.
      this.outbound?.close();
      const tail = this.ownOutput.text().trim().split("\n").slice(-5).join("\n");
      const err = new LadingError(this.closed ? "CANCELLED" : "INTERNAL", `the session network's helper ended (${sig ?? "exit " + code})${tail ? ": " + tail : ""}`);
      failed(err);
      for (const [id, w] of this.waiting) {
        this.waiting.delete(id);
        if (!w.answered) w.reject(err);
        else w.h.after?.({ id, type: "exited", exitCode: -1 });
      }
    });
  }

  /** Starts a net helper (`script`, which calls serveNet) as `identity`. */
  static async start(script: string, identity: Identity): Promise<NetClient> {
    const unshare = findTool("unshare");
    if (!unshare) throw new LadingError("RUNTIME_UNAVAILABLE", "`unshare` is not installed: install the Debian package util-linux");
    if (!findTool("ip")) throw new LadingError("RUNTIME_UNAVAILABLE", "`ip` is not installed (services need it for their network): install the Debian package iproute2");
    await sweepNetDirs();
    const dir = await mkdtemp(join(tmpdir(), `${PREFIX}${process.pid}-`));
    const child = spawn(unshare, [...unshareArgs(identity), "--net", "--", process.execPath, "--no-warnings", script, dir], {
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      env: helperEnv(),
      serialization: "advanced",
      // Its own process group: a terminal's Ctrl-C reaches lading, which ends it in order.
      detached: true,
    });
    child.on("error", () => {});
    const client = new NetClient(child, dir);
    await client.ready.catch(async (e) => {
      await client.close();
      throw e;
    });
    return client;
  }

  /**
   * Gives the session network its way out (outbound.ts): slirp4netns for
   * the helper's namespace, its tap plugged into the bridge. Containers
   * made before this have no route out; call it before the first.
   */
  async enableOutbound(): Promise<void> {
    if (this.outbound) return;
    const outbound = await startOutbound(this.child.pid!);
    // The helper may have ended meanwhile; then it goes at once, as the exit handler would have done.
    if (this.closed || this.child.exitCode !== null || this.child.signalCode !== null) {
      outbound.close();
      throw new LadingError("CANCELLED", "the session network is closed");
    }
    this.outbound = outbound;
    try {
      await this.request("outbound", { tap: OUTBOUND_TAP });
    } catch (e) {
      this.outbound = undefined;
      outbound.close();
      throw e;
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Sends one request; resolves with its answer (an `error` answer rejects, as a LadingError). */
  request<K extends NetRequest["kind"]>(kind: K, body: Omit<Body<K>, "kind">, h: RequestHandlers = {}): Promise<NetMessage> {
    if (this.closed || !this.child.connected) return Promise.reject(new LadingError("CANCELLED", "the session network is closed"));
    const id = this.nextId++;
    return new Promise<NetMessage>((resolve, reject) => {
      this.waiting.set(id, {
        resolve: (m) => {
          if (m.type === "error") reject(new LadingError(m.code as LadingErrorCode, m.message));
          else resolve(m);
        },
        reject,
        h,
        answered: false,
      });
      this.child.send({ kind, ...body, id } as unknown as NetRequest);
    });
  }

  /** The id the next request gets (a service's, for its `stop`). */
  peekId(): number {
    return this.nextId;
  }

  /** Ends the helper (it kills what it runs), waits for it, and removes its folder. */
  async close(): Promise<void> {
    this.closed = true;
    const exited = new Promise<void>((res) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return res();
      // "exit", not "close": after a disconnect node may never count the IPC channel closed.
      this.child.once("exit", () => res());
    });
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
    this.outbound?.close();
    await rm(this.dir, { recursive: true, force: true }).catch(() => {});
  }
}
