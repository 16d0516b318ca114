/**
 * The net helper's loop: it runs in the session's network namespace
 * (started by net-client.ts, inside lading's user namespace when rootless)
 * and serves many requests at once: services that run until stopped,
 * execs bound to them, and relays. Every container it starts runs through
 * execJob (exec/exec-job.ts) with `net` set, so root filesystems, mounts
 * and clean-up are an ordinary exec's.
 *
 * When lading goes (its IPC channel closes: an exit, SIGINT, SIGTERM or
 * SIGKILL alike) the helper kills every container it runs and exits; the
 * network namespaces die with their last process, their veth pairs with
 * them, and mounts with the helper's mount namespace. What survives a
 * SIGKILL of both (runtime state, owner notes) the next run's reap finds.
 */
import { mkdir } from "node:fs/promises";
import type { Server } from "node:net";
import { LadingError } from "../errors.js";
import type { Running } from "../exec/exec-job.js";
import type { OpenExecStore } from "../exec/exec-store.js";
import { identityTag } from "../exec/identity.js";
import type { ExecJob, HelperMessage, OutputSink } from "../exec/job.js";
import { runTool } from "../exec/proc.js";
import { runtimeStateRoot } from "../exec/state.js";
import type { HostEntry, NetMessage, NetRequest } from "./messages.js";
import { accepts, relayServer } from "./relay.js";
import { OUTBOUND_DNS } from "./outbound.js";
import { SessionNet, type ContainerNetns } from "./session-net.js";

process.umask(0o022);

interface LiveService {
  job: ExecJob;
  running?: Running;
  exited: Promise<number>;
}

function send(m: NetMessage): void {
  if (process.connected) process.send!(m);
}

function fail(id: number, err: unknown): void {
  send({ id, type: "error", code: err instanceof LadingError ? err.code : "INTERNAL", message: (err as Error)?.message ?? String(err) });
}

/** Output rides the IPC channel; the runtime's pipe waits while it is backed up. */
function outputFor(id: number): OutputSink {
  return (stream, chunk) =>
    new Promise<void>((resolve) => {
      if (!process.connected) return resolve();
      process.send!({ id, type: "output", stream, data: chunk } satisfies NetMessage, undefined, {}, () => resolve());
    });
}

/** Serves requests until lading goes. `dir`: the session's private folder (hosts files); `openStore` as for exec jobs. */
export async function serveNet(dir: string, openStore: OpenExecStore): Promise<void> {
  const net = new SessionNet(dir);
  const services = new Map<number, LiveService>();
  const forwards = new Map<string, Server>();
  const running = new Set<Running>();
  let stopping = false;

  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    // A last resort only: exiting before the kills are through would orphan the containers (the
    // next run's reap then finds them only once this helper is gone), and a loaded machine is slow.
    setTimeout(() => process.exit(code), 15_000).unref();
    for (const s of forwards.values()) s.close();
    await Promise.all([...running].map((r) => r.kill().catch(() => {})));
    net.killKeepers();
    process.exit(code);
  };
  // Also when the last-resort timer ends it: no keeper may hold a namespace after the helper.
  process.on("exit", () => net.killKeepers());
  process.on("disconnect", () => void stopAll(137));
  process.on("SIGINT", () => void stopAll(130));
  process.on("SIGTERM", () => void stopAll(143));

  // What runs containers is most of this process's code: it loads while the bridge is made and lading
  // prepares its first request, not before the helper can answer that it is up.
  const execJobs = import("../exec/exec-job.js");
  execJobs.catch(() => {});
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const bridge = net.setup();
    // The first container's namespace is made beside the bridge: it is a fresh session's first wait after this one.
    net.prime();
    await bridge;
  } catch (e) {
    send({ id: 0, type: "fatal", message: (e as Error).message });
    return;
  }

  /** Runs one container on the session network in `ns` (closed at its end); `onRunning` sees it start. */
  async function runOn(id: number, job: ExecJob, ns: ContainerNetns, hostname: string, aliases: HostEntry[], answer: (m: Extract<HelperMessage, { type: "result" }>) => void, onRunning?: (r: Running | undefined) => void): Promise<void> {
    let hosts: Awaited<ReturnType<SessionNet["hostsFile"]>> | undefined;
    let mine: Running | undefined;
    try {
      hosts = await net.hostsFile(hostname, ns.ip, aliases);
      const withNet: ExecJob = { ...job, net: { netnsPath: ns.path, hostsFile: hosts.path, hostname, ...(ns.outbound ? { nameserver: OUTBOUND_DNS } : {}) } };
      const setRunning = (r: Running | undefined) => {
        if (mine) running.delete(mine);
        mine = r;
        if (r) running.add(r);
        onRunning?.(r);
      };
      const { execJob } = await execJobs;
      await execJob(withNet, openStore, (m) => send({ id, ...m } as NetMessage), answer, outputFor(id), setRunning, () => stopping);
    } finally {
      if (mine) running.delete(mine);
      ns.close();
      await hosts?.close();
    }
  }

  async function startService(r: Extract<NetRequest, { kind: "service" }>): Promise<void> {
    const ns = await net.acquire(r.key);
    const ip = ns.ip;
    // Named before it is healthy: a service may look its peers up while it starts, and they it.
    await net.addGlobal({ ip, names: r.names });
    let exitCode: number | undefined;
    let ended: (code: number) => void = () => {};
    const live: LiveService = { job: r.job, exited: new Promise<number>((res) => (ended = res)) };
    services.set(r.id, live);
    let runError: unknown;
    const run = runOn(r.id, r.job, ns, r.hostname, r.aliases, (m) => ((exitCode = m.exitCode), ended(m.exitCode)), (x) => x && (live.running = x));
    run.catch((e) => ((runError = e), ended(-1))).finally(() => {
      services.delete(r.id);
      if (exitCode === undefined && runError === undefined) exitCode = -1;
      if (exitCode !== undefined) send({ id: r.id, type: "exited", exitCode });
    });
    // Healthy when every exposed TCP port accepts; an end before that is the answer instead.
    const deadline = Date.now() + r.timeoutMs;
    const pending = new Set(r.ports);
    let done = false;
    void live.exited.then(() => (done = true));
    while (!done && pending.size && Date.now() < deadline) {
      for (const p of [...pending]) if (await accepts(ip, p, 500)) pending.delete(p);
      // Often: the wait for a port is most of a service's start, and a refused connection costs next to nothing.
      if (pending.size && !done) await new Promise((res) => setTimeout(res, 10));
    }
    if (done) {
      if (runError) throw runError;
      return; // "exited" says it all
    }
    if (pending.size) {
      send({ id: r.id, type: "error", code: "SERVICE", message: `port${pending.size > 1 ? "s" : ""} ${[...pending].join(", ")} did not accept a connection within ${r.timeoutMs / 1000} s` });
      return;
    }
    send({ id: r.id, type: "started", ip });
  }

  async function stopService(r: Extract<NetRequest, { kind: "stop" }>): Promise<void> {
    const live = services.get(r.target);
    if (!live) return send({ id: r.id, type: "ok" });
    const runtime = live.job.runtime;
    if (!r.kill && runtime.name !== "podman") {
      const stateRoot = await runtimeStateRoot(await openStore(live.job.storeRoot), identityTag(live.job.identity), runtime.name);
      await runTool(runtime.path, ["--root", stateRoot, "kill", live.job.containerId, "TERM"]);
      const timer = new Promise<"late">((res) => setTimeout(() => res("late"), r.graceMs).unref());
      if ((await Promise.race([live.exited, timer])) !== "late") return send({ id: r.id, type: "ok" });
    }
    await live.running?.kill().catch(() => {});
    await live.exited;
    send({ id: r.id, type: "ok" });
  }

  async function handle(r: NetRequest): Promise<void> {
    switch (r.kind) {
      case "exec": {
        const ns = await net.acquire();
        try {
          await runOn(r.id, r.job, ns, "lading", r.aliases, (m) => send({ id: r.id, ...m }));
        } finally {
          net.release(ns.ip);
        }
        return;
      }
      case "service":
        return startService(r);
      case "stop":
        return stopService(r);
      case "forward": {
        forwards.set(r.socket, await relayServer({ path: r.socket }, { host: r.ip, port: r.port }));
        return send({ id: r.id, type: "ok" });
      }
      case "unforward": {
        forwards.get(r.socket)?.close();
        forwards.delete(r.socket);
        return send({ id: r.id, type: "ok" });
      }
      case "outbound":
        await net.attachOutbound(r.tap);
        return send({ id: r.id, type: "ok" });
      case "hostService": {
        const ip = net.addressFor(r.key);
        await net.addBridgeAddress(ip);
        for (const p of r.ports) forwards.set(`${ip}:${p.frontend}`, await relayServer({ host: ip, port: p.frontend }, { path: p.socket }));
        await net.addGlobal({ ip, names: r.names });
        return send({ id: r.id, type: "ok", ip });
      }
    }
  }

  process.on("message", (r: NetRequest) => {
    if (stopping) return;
    handle(r).catch((e) => fail(r.id, e));
  });
  send({ id: 0, type: "ok" });
}
