/**
 * A session's services (issue 14): containers whose command keeps running,
 * reached by hostname from the session's other containers, on a network
 * that lives in namespaces lading makes (net/). One owner per session,
 * made when the first service or binding needs it:
 *
 * - a service runs at most once per definition (serviceKey) at a time; an
 *   explicit `start` keeps it until `stop` or the session's end, a binding
 *   starts it for its exec and stops it when no exec uses it any more;
 * - it is healthy when every exposed TCP port accepts; an early end or a
 *   timeout is a `SERVICE` error with its last output;
 * - `up`/`endpoint` forward ports of 127.0.0.1 to it, and a host service
 *   lets containers reach a port of 127.0.0.1 (relays through Unix sockets:
 *   no route joins the session network and the host's);
 * - every start and stop is a step event (a span in traces).
 *
 * Everything it started ends when the session closes, and, because the
 * net helper kills what it runs when lading's channel closes, when lading
 * dies by any signal.
 */
import { randomBytes } from "node:crypto";
import type { Server } from "node:net";
import { join } from "node:path";
import { LadingError } from "../errors.js";
import { findTool } from "../exec/detect.js";
import { currentIdentity } from "../exec/identity.js";
import type { ExecJob } from "../exec/job.js";
import { Tail, buildExecJob, reapLeftovers, type HelperAnswer, type HelperRunOpts } from "../exec/run.js";
import type { HostEntry, NetMessage } from "../net/messages.js";
import { NetClient } from "../net/net-client.js";
import { relayServer } from "../net/relay.js";
import { EXEC_HELPER, NET_HELPER } from "./exec-helper-path.js";
import type { ImageState } from "./image-state.js";
import type { ServiceSpec } from "./ops.js";
import { derivedHostname, serviceKey } from "./service-key.js";
import { noteServices } from "./services-live.js";
import type { Session } from "./session.js";
import type { StepContext } from "./step-context.js";
import { buildMounts, collectSecretValues, secretValue } from "./steps/exec-inputs.js";
import { runStep } from "./steps/run-step.js";
import { layerTimes } from "./session.js";

/** How long a service's ports may take to accept, unless it says otherwise. */
const DEFAULT_TIMEOUT_SECONDS = 60;
/** Between SIGTERM and SIGKILL on a stop without `kill`. */
const STOP_GRACE_MS = 10_000;

export interface PortForward {
  frontend: number;
  backend: number;
}

interface Instance {
  key: string;
  hostname: string;
  spec: ServiceSpec;
  /** Settles when healthy (or failed to be). */
  ready: Promise<void>;
  ip?: string;
  ports: number[];
  requestId?: number;
  out: Tail;
  explicit: boolean;
  users: number;
  ended: boolean;
  forwards: Server[];
  /** Forwards made by endpoint(), by backend port: reused. */
  endpoints: Map<number, number>;
  /** Leases on the services this one is bound to. */
  leases: Array<() => Promise<void>>;
  hostSockets: Server[];
}

const owners = new WeakMap<Session, Services>();

/** The session's services (made on first use; it ends them when the session closes). */
export function servicesOf(session: Session): Services {
  let s = owners.get(session);
  if (!s) {
    const made = new Services(session);
    owners.set(session, made);
    session.atClose(() => made.close());
    s = made;
  }
  return s;
}

export class Services {
  /** Part of every global name: `<hostname>.<id>.lading.local`. */
  readonly id = randomBytes(4).toString("hex");
  private net?: Promise<NetClient>;
  private readonly instances = new Map<string, Instance>();
  private sockets = 0;
  private closed = false;

  constructor(private readonly session: Session) {
    noteServices(session, () => this.instances.size > 0);
  }

  /** The session wants a way out of its network (connect's serviceOutbound). */
  private get wantsOutbound(): boolean {
    return this.session.config.serviceOutbound !== false;
  }

  private network(ev: StepContext): Promise<NetClient> {
    if (this.closed) return Promise.reject(new LadingError("CANCELLED", "the session is closed"));
    this.net ??= (async () => {
      // The reap of what a killed earlier run left (containers, notes, helper folders) and the net
      // helper's start (node in new namespaces: most of a fresh session's first service) with its way
      // out run side by side: the reap touches only what dead processes owned, never this session's helper.
      const reap = ev.once("reap-leftovers", () => reapLeftovers(this.session.store, EXEC_HELPER, this.session.config.env));
      const started = (async () => {
        const client = await NetClient.start(NET_HELPER, currentIdentity(this.session.config.env.subids));
        if (this.wantsOutbound) {
          await client.enableOutbound().catch(async (e: Error) => {
            if (this.closed) {
              await client.close();
              throw e;
            }
            this.session.emit({
              type: "warning",
              message: `services: the session network has no way out (${e.message}); its containers reach only each other, and execs without a service binding stay on the host's network, where services' hostnames do not resolve`,
            });
          });
        }
        return client;
      })();
      const [made, reaped] = await Promise.allSettled([started, reap]);
      if (reaped.status === "rejected") {
        if (made.status === "fulfilled") await made.value.close();
        throw reaped.reason;
      }
      if (made.status === "rejected") throw made.reason;
      const client = made.value;
      this.session.debug(`services: session network up (helper pid ${client.pid}, session ${this.id}, ${client.outbound ? `outbound slirp4netns pid ${client.outbound.pid}` : "no outbound"})`);
      return client;
    })();
    this.net.catch(() => (this.net = undefined));
    return this.net;
  }

  /** The hostname of a service, started or not. */
  async hostname(ev: StepContext, spec: ServiceSpec): Promise<string> {
    return spec.hostname ?? derivedHostname(await serviceKey(ev, spec));
  }

  /** Starts the service (once per definition) and waits until it is healthy; `explicit` keeps it until stop(). */
  async start(ev: StepContext, spec: ServiceSpec, explicit: boolean): Promise<Instance> {
    // The session network comes up while the service's container is worked out (a pull, its execs: its key needs them).
    if (spec.type === "container") this.network(ev).catch(() => {});
    const key = await serviceKey(ev, spec);
    let inst = this.instances.get(key);
    if (!inst || inst.ended) {
      const hostname = spec.hostname ?? derivedHostname(key);
      const made: Instance = { key, hostname, spec, ready: Promise.resolve(), ports: [], out: new Tail(64 * 1024), explicit, users: 0, ended: false, forwards: [], endpoints: new Map(), leases: [], hostSockets: [] };
      made.ready = runStep(this.session, { id: `service:${key}`, name: `start service ${hostname}`, metadataOnly: true, attributes: { "lading.service.hostname": hostname, "lading.service.key": key } }, () =>
        spec.type === "host" ? this.startHost(ev, made, spec) : this.startContainer(ev, made, spec),
      );
      this.instances.set(key, made);
      made.ready.catch(() => {
        if (this.instances.get(key) === made) this.instances.delete(key);
      });
      inst = made;
    }
    if (explicit) inst.explicit = true;
    await inst.ready;
    return inst;
  }

  private async startContainer(ev: StepContext, inst: Instance, spec: Extract<ServiceSpec, { type: "container" }>): Promise<void> {
    const session = this.session;
    const state = await ev.container(spec.container);
    const net = await this.network(ev);
    // A service bound to services starts them first, and holds them while it runs.
    const aliases = await this.lease(ev, state, inst.leases);
    let args = spec.args;
    if (args.length === 0) args = [...(state.config.Entrypoint ?? []), ...(state.config.Cmd ?? [])];
    else if (spec.useEntrypoint && state.config.Entrypoint?.length) args = [...state.config.Entrypoint, ...args];
    if (args.length === 0) throw new LadingError("INVALID_ARGUMENT", `service ${inst.hostname}: no command (give asService args, or a container with a default command)`);
    const job = await this.jobFor(ev, state, args, { noInit: spec.noInit, insecureRootCapabilities: spec.insecureRootCapabilities });
    job.service = true;
    inst.ports = Object.keys(state.config.ExposedPorts ?? {}).filter((p) => p.endsWith("/tcp")).map((p) => Number(p.split("/")[0]));
    const secrets = collectSecretValues(ev, state);
    const scrub = (s: string) => secrets.reduce((acc, v) => acc.split(v).join("***"), s);
    const timeoutSeconds = spec.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    inst.requestId = net.peekId();
    const answer = await net
      .request(
        "service",
        { key: inst.key, job, hostname: inst.hostname, names: this.names(inst.hostname), aliases, ports: inst.ports, timeoutMs: timeoutSeconds * 1000 },
        {
          onOutput: (stream, chunk) => {
            inst.out.push(chunk);
            session.emit({ type: "log", id: `service:${inst.key}`, stream, text: scrub(chunk.toString("utf8")) });
          },
          debug: (m) => session.debug(m),
          after: (m) => m.type === "exited" && void this.ended(inst, m.exitCode),
        },
      )
      .catch(async (err: LadingError) => {
        // The ports never accepted: the container is still running, and goes now.
        await this.stopInstance(inst, true).catch(() => {});
        throw new LadingError("SERVICE", `service ${inst.hostname}: ${err.message}${lastOutput(inst, scrub)}`, { cause: err });
      });
    if (answer.type === "exited") {
      await this.ended(inst, answer.exitCode);
      throw new LadingError("SERVICE", `service ${inst.hostname} exited with code ${answer.exitCode} before ${inst.ports.length ? `port${inst.ports.length > 1 ? "s" : ""} ${inst.ports.join(", ")} accepted a connection` : "it was used"}${lastOutput(inst, scrub)}`);
    }
    inst.ip = (answer as Extract<NetMessage, { type: "started" }>).ip;
  }

  private async startHost(ev: StepContext, inst: Instance, spec: Extract<ServiceSpec, { type: "host" }>): Promise<void> {
    const net = await this.network(ev);
    const ports: Array<{ frontend: number; socket: string }> = [];
    for (const p of spec.ports) {
      const socket = join(net.dir, `h${++this.sockets}.sock`);
      inst.hostSockets.push(await relayServer({ path: socket }, { host: "127.0.0.1", port: p.backend }));
      ports.push({ frontend: p.frontend, socket });
    }
    inst.ports = spec.ports.map((p) => p.frontend);
    const answer = await net.request("hostService", { key: inst.key, names: this.names(inst.hostname), ports });
    inst.ip = (answer as Extract<NetMessage, { type: "ok" }>).ip;
  }

  private names(hostname: string): string[] {
    return [hostname, `${hostname}.${this.id}.lading.local`];
  }

  /** Starts the services `state` is bound to; their aliases, and a release each into `leases`. */
  private async lease(ev: StepContext, state: ImageState, leases: Array<() => Promise<void>>): Promise<HostEntry[]> {
    const bound = state.services ?? [];
    return Promise.all(
      bound.map(async (b) => {
        const inst = await this.start(ev, b.service, false);
        inst.users++;
        leases.push(() => this.release(inst));
        return { ip: inst.ip!, names: [b.alias] };
      }),
    );
  }

  private async release(inst: Instance): Promise<void> {
    if (--inst.users > 0 || inst.explicit || inst.ended) return;
    await this.stop(inst.key, false);
  }

  /** The job for a container on the session network: an exec's, with an OCI runtime (podman cannot join lading's namespaces). */
  private async jobFor(ev: StepContext, state: ImageState, args: string[], how: { noInit: boolean; insecureRootCapabilities: boolean; stdin?: string }): Promise<ExecJob> {
    const session = this.session;
    const secretEnv: Record<string, string> = {};
    for (const s of state.secretEnv) secretEnv[s.name] = secretValue(ev, s.secret.name).toString("utf8");
    return buildExecJob({
      store: session.store,
      settings: session.config.env,
      layers: [...state.layers],
      args,
      env: [...(state.config.Env ?? [])],
      secretEnv,
      cwd: state.config.WorkingDir || "/",
      user: state.config.User ?? "",
      ...(how.stdin !== undefined ? { stdin: how.stdin } : {}),
      mounts: await buildMounts(ev, state),
      network: "none",
      insecureRootCapabilities: how.insecureRootCapabilities,
      noInit: how.noInit,
      runtime: this.runtime(),
      layer: { compression: session.config.compression, mediaTypes: session.config.mediaTypes, ...layerTimes(session.config) },
      debug: (m) => session.debug(m),
    });
  }

  /** runc or crun: podman runs containers in namespaces of its own, so a podman session's services use an OCI runtime. */
  runtime(): "runc" | "crun" {
    const asked = this.session.config.runtime;
    if (asked === "runc" || asked === "crun") return asked;
    if (findTool("runc")) return "runc";
    if (findTool("crun")) return "crun";
    throw new LadingError("RUNTIME_UNAVAILABLE", "services need runc or crun (they join network namespaces lading makes): install the Debian package runc");
  }

  /**
   * Runs an exec on the session network: one bound to services
   * (withServiceBinding), whose services start first (health-checked) and
   * each stop afterwards unless something else uses them, or one without a
   * binding while services run, which sees their global hostnames. `run`
   * gets the `via` for runExec; `undefined` (a plain exec, when the network
   * has no way out although the session wants one) keeps the host's
   * network: moving it would take away what it could reach.
   */
  async withBindings<T>(ev: StepContext, state: ImageState, run: (via?: (job: ExecJob, opts: HelperRunOpts) => Promise<HelperAnswer>) => Promise<T>): Promise<T> {
    const leases: Array<() => Promise<void>> = [];
    try {
      const aliases = await this.lease(ev, state, leases);
      const net = await this.network(ev);
      if (!state.services?.length && this.wantsOutbound && !net.outbound) return await run(undefined);
      return await run(async (job, opts) => {
        const out = new Tail(4 << 20);
        const err = new Tail(4 << 20);
        const message = await net.request("exec", { job, aliases }, {
          onOutput: (stream, chunk) => {
            (stream === "stdout" ? out : err).push(chunk);
            opts.onOutput?.(stream, chunk);
          },
          ...(opts.debug ? { debug: opts.debug } : {}),
        });
        return { message: message as HelperAnswer["message"], stdout: out.text(), stderr: err.text() };
      });
    } finally {
      for (const release of leases) await release().catch(() => {});
    }
  }

  /** Stops the running instance of `key` (nothing when none runs). */
  async stop(key: string, kill: boolean): Promise<void> {
    const inst = this.instances.get(key);
    if (!inst) return;
    await inst.ready.catch(() => {});
    if (inst.ended) return;
    await runStep(this.session, { id: `service-stop:${key}`, name: `stop service ${inst.hostname}`, metadataOnly: true, attributes: { "lading.service.hostname": inst.hostname, "lading.service.key": key } }, () => this.stopInstance(inst, kill));
  }

  private async stopInstance(inst: Instance, kill: boolean): Promise<void> {
    if (this.instances.get(inst.key) === inst) this.instances.delete(inst.key);
    for (const s of [...inst.forwards, ...inst.hostSockets]) s.close();
    const net = await this.net?.catch(() => undefined);
    if (net && inst.requestId !== undefined && !inst.ended) await net.request("stop", { target: inst.requestId, kill, graceMs: STOP_GRACE_MS }).catch(() => {});
    await this.ended(inst, undefined);
  }

  private async ended(inst: Instance, exitCode: number | undefined): Promise<void> {
    if (inst.ended) return;
    inst.ended = true;
    if (exitCode !== undefined) this.session.debug(`service ${inst.hostname} exited with code ${exitCode}`);
    if (this.instances.get(inst.key) === inst) this.instances.delete(inst.key);
    for (const s of [...inst.forwards, ...inst.hostSockets]) s.close();
    for (const release of inst.leases.splice(0)) await release().catch(() => {});
  }

  /** Forwards ports of 127.0.0.1 to the running service (`frontend` 0: a free port). */
  async forward(ev: StepContext, spec: ServiceSpec, ports: PortForward[]): Promise<PortForward[]> {
    if (spec.type === "host") throw new LadingError("INVALID_ARGUMENT", "a host service is on the host already: it has nothing to forward");
    const inst = await this.start(ev, spec, true);
    const net = await this.network(ev);
    const wanted = ports.length ? ports : inst.ports.map((p) => ({ frontend: p, backend: p }));
    if (!wanted.length) throw new LadingError("INVALID_ARGUMENT", `service ${inst.hostname} exposes no port: pass the ports to forward`);
    const made: PortForward[] = [];
    for (const p of wanted) {
      const socket = join(net.dir, `f${++this.sockets}.sock`);
      await net.request("forward", { socket, ip: inst.ip!, port: p.backend });
      const server = await relayServer({ host: "127.0.0.1", port: p.frontend }, { path: socket }).catch((e: NodeJS.ErrnoException) => {
        throw new LadingError(e.code === "EADDRINUSE" ? "INVALID_ARGUMENT" : "NETWORK", `forwarding 127.0.0.1:${p.frontend} to service ${inst.hostname}: ${e.message}`, { cause: e });
      });
      inst.forwards.push(server);
      made.push({ frontend: (server.address() as { port: number }).port, backend: p.backend });
    }
    return made;
  }

  /** `127.0.0.1:<port>` leading to `port` of the service (started, and kept, for it). */
  async endpoint(ev: StepContext, spec: ServiceSpec, port?: number): Promise<string> {
    if (spec.type === "host") {
      const p = port ?? spec.ports[0]?.backend;
      if (p === undefined) throw new LadingError("INVALID_ARGUMENT", "the host service has no port");
      return `127.0.0.1:${spec.ports.find((x) => x.frontend === p)?.backend ?? p}`;
    }
    const inst = await this.start(ev, spec, true);
    const backend = port ?? inst.ports[0];
    if (backend === undefined) throw new LadingError("INVALID_ARGUMENT", `service ${inst.hostname} exposes no port: give endpoint a port`);
    let frontend = inst.endpoints.get(backend);
    if (frontend === undefined) {
      [{ frontend }] = (await this.forward(ev, spec, [{ frontend: 0, backend }])) as [PortForward];
      inst.endpoints.set(backend, frontend);
    }
    return `127.0.0.1:${frontend}`;
  }

  /** Ends every service and the session network (the session is closing). */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.instances.values()];
    await Promise.all(all.map((i) => this.stop(i.key, true).catch(() => {})));
    const net = await this.net?.catch(() => undefined);
    await net?.close();
  }
}

function lastOutput(inst: Instance, scrub: (s: string) => string): string {
  const text = scrub(inst.out.text()).trim().split("\n").slice(-20).join("\n");
  return text ? `; its last output:\n${text}` : "; it printed nothing";
}
