import { LadingError } from "../errors.js";
import type { ServiceSpec } from "../engine/ops.js";
import type { PortForward } from "../engine/services.js";
import type { ApiContext } from "./context.js";

export type { PortForward } from "../engine/services.js";

/** Options of `Container.asService`. */
export interface ContainerAsServiceOpts {
  /** The command to run; default: the last `withExec`'s (which then runs only as the service), else the image's entrypoint and default args. */
  args?: string[];
  /** Put the image's entrypoint in front of `args`. */
  useEntrypoint?: boolean;
  /** How long (seconds) its exposed TCP ports may take to accept a connection before starting fails. Default 60; not part of the service's definition. */
  timeout?: number;
}

/** Options of `Service.stop`. */
export interface ServiceStopOpts {
  /** SIGKILL at once, instead of SIGTERM and SIGKILL 10 s later. */
  kill?: boolean;
}

/** Options of `Service.endpoint`. */
export interface ServiceEndpointOpts {
  /** The service's port; default its first exposed one. */
  port?: number;
  /** With a scheme ("http"), a URL is returned instead of host:port. */
  scheme?: string;
}

/** Options of `Service.up`. */
export interface ServiceUpOpts {
  /** Which ports to forward (`frontend` on 127.0.0.1 → `backend` of the service); default each exposed port to the same number. */
  ports?: PortForward[];
  /** Each forward on a free port of 127.0.0.1 instead of the same number. */
  random?: boolean;
}

/**
 * A container whose command keeps running (a database, an HTTP server),
 * reached by hostname from the session's other containers: lazy and
 * immutable, like a Container. It starts when `start`, `up` or `endpoint`
 * is awaited, or when an exec bound to it (`withServiceBinding`) runs, and
 * is healthy once each of its exposed TCP ports accepts a connection.
 * Its hostname, and `<hostname>.<session id>.lading.local`, resolve from
 * every container of the session (every exec joins the session network
 * while a service runs); a binding's alias only from the bound container.
 * The network lives in namespaces lading makes (rootless too), with a way
 * out through slirp4netns (the host's 127.0.0.1 is `10.0.2.2`,
 * `host.lading.internal`) unless `connect({ serviceOutbound: false })`;
 * the host reaches it through `up` and `endpoint`.
 *
 * @example
 * const web = client.container().from("oci:./busybox").withExposedPort(8080)
 *   .withExec(["httpd", "-f", "-p", "8080"]).asService().withHostname("web");
 * await client.container().from("oci:./busybox").withServiceBinding("www", web)
 *   .withExec(["wget", "-qO-", "http://www:8080/"]).stdout();
 */
export class Service {
  /** @internal The session and evaluator this value belongs to. */
  readonly ctx: ApiContext;
  /** @internal What the service is (plain data, part of the cache keys of execs bound to it). */
  readonly spec: ServiceSpec;
  /** Not for direct use: made by `Container.asService` and `client.host().service`. */
  constructor(ctx: ApiContext, spec: ServiceSpec) {
    this.ctx = ctx;
    this.spec = spec;
  }

  /** The session's services, loaded on first use: a session without services never loads their code. */
  private async owner() {
    return (await import("../engine/services.js")).servicesOf(this.ctx.session);
  }

  /**
   * The same service under a hostname every container of the session resolves (a global hostname).
   * @param name A DNS label or dotted name: letters, digits, `-` and `.`.
   * @throws LadingError `INVALID_ARGUMENT` at once for another name.
   * @example const db = postgres.asService().withHostname("db");
   */
  withHostname(name: string): Service {
    return new Service(this.ctx, { ...this.spec, hostname: checkHostname(name) });
  }

  /**
   * Starts the service, if it is not running, and waits until it is healthy. It then runs until `stop` or the session's end.
   * @returns This service.
   * @throws LadingError `SERVICE` when it exits before its ports accept, or they do not within the timeout (with its last output).
   * @example await db.start();
   */
  async start(): Promise<Service> {
    await (await this.owner()).start(this.ctx.evaluator, this.spec, true);
    return this;
  }

  /**
   * Stops the service if it runs: SIGTERM, then SIGKILL after 10 s (at once with `kill`).
   * @param opts See {@link ServiceStopOpts}.
   * @returns This service.
   * @example await db.stop({ kill: true });
   */
  async stop(opts: ServiceStopOpts = {}): Promise<Service> {
    const { serviceKey } = await import("../engine/service-key.js");
    await (await this.owner()).stop(await serviceKey(this.ctx.evaluator, this.spec), !!opts.kill);
    return this;
  }

  /**
   * The hostname containers reach it by: the one given to `withHostname`, else one made from its definition.
   * @example const host = await db.hostname();
   */
  async hostname(): Promise<string> {
    return (await this.owner()).hostname(this.ctx.evaluator, this.spec);
  }

  /**
   * The ports it exposes (a host service: its frontend ports).
   * @example const [{ port }] = await db.ports();
   */
  async ports(): Promise<Array<{ port: number; protocol: "TCP" | "UDP" }>> {
    if (this.spec.type === "host") return this.spec.ports.map((p) => ({ port: p.frontend, protocol: "TCP" as const }));
    const state = await this.ctx.evaluator.container(this.spec.container);
    return Object.keys(state.config.ExposedPorts ?? {}).map((p) => {
      const [port, proto] = p.split("/");
      return { port: Number(port), protocol: proto === "udp" ? ("UDP" as const) : ("TCP" as const) };
    });
  }

  /**
   * An address on this machine that leads to the service: `127.0.0.1:<port>`
   * forwarded to it (started, and kept running, for it), or a URL with
   * `scheme`. Unlike Dagger, whose engine runs elsewhere, the caller is on
   * the host, so this is the host's way in; containers use `hostname()`.
   * @param opts See {@link ServiceEndpointOpts}.
   * @example const res = await fetch(await web.endpoint({ scheme: "http" }));
   */
  async endpoint(opts: ServiceEndpointOpts = {}): Promise<string> {
    const hostPort = await (await this.owner()).endpoint(this.ctx.evaluator, this.spec, opts.port);
    return opts.scheme ? `${opts.scheme}://${hostPort}` : hostPort;
  }

  /**
   * Starts the service and forwards ports of 127.0.0.1 to it until it stops (or the session ends).
   * Resolves once every forward listens.
   * @param opts See {@link ServiceUpOpts}.
   * @returns The forwards made (`frontend` is the host's port).
   * @throws LadingError `INVALID_ARGUMENT` when a frontend port is taken.
   * @example const [{ frontend }] = await web.up({ random: true });
   */
  async up(opts: ServiceUpOpts = {}): Promise<PortForward[]> {
    let ports = opts.ports ?? [];
    for (const p of ports) checkPort(p.frontend, true), checkPort(p.backend, false);
    if (!ports.length) ports = (await this.ports()).filter((p) => p.protocol === "TCP").map((p) => ({ frontend: p.port, backend: p.port }));
    if (opts.random) ports = ports.map((p) => ({ ...p, frontend: 0 }));
    return (await this.owner()).forward(this.ctx.evaluator, this.spec, ports);
  }
}

/** @internal A host port, as Dagger's `Host.service` takes it. */
export function hostService(ctx: ApiContext, ports: PortForward[]): Service {
  if (!Array.isArray(ports) || ports.length === 0) throw new LadingError("INVALID_ARGUMENT", "host().service needs at least one { frontend, backend } port");
  for (const p of ports) checkPort(p.frontend, false), checkPort(p.backend, false);
  return new Service(ctx, { type: "host", ports: ports.map((p) => ({ frontend: p.frontend, backend: p.backend })) });
}

function checkPort(p: unknown, zeroOk: boolean): void {
  if (!Number.isInteger(p) || (p as number) < (zeroOk ? 0 : 1) || (p as number) > 65535) throw new LadingError("INVALID_ARGUMENT", `invalid port ${String(p)}: expected 1–65535`);
}

/** A hostname or alias: what /etc/hosts can hold. */
export function checkHostname(name: string): string {
  if (typeof name !== "string" || !/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/.test(name) || name.length > 253) {
    throw new LadingError("INVALID_ARGUMENT", `invalid hostname "${name}": use letters, digits, "-" and "." (a DNS name)`);
  }
  return name;
}
