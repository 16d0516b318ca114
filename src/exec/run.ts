/**
 * runExec: the engine's entry point for one exec step. It runs the command
 * on the container's root filesystem through a runtime and returns the exit
 * code, the output and the step's changes as one layer in the store.
 *
 * The work happens in a helper process (serve-jobs.ts) started in lading's
 * namespaces — a user + mount namespace when rootless (the default case),
 * a private mount namespace as root — so files of any owner can be
 * unpacked, run on and diffed, and mounts never outlive the helper.
 *
 * A step that changes nothing gives no layer (`layer` undefined), where
 * docker adds an empty one: an empty layer changes no file, and leaving it
 * out keeps images smaller and digests independent of how a no-op was
 * spelled. The engine records such a step in the history as an empty_layer.
 */
import { randomBytes } from "node:crypto";
import { LadingError, type LadingErrorCode } from "../errors.js";
import type { LayerRef } from "../oci/types.js";
import type { ExecStore } from "./exec-store.js";
import { backendFor } from "./backends.js";
import { chooseRuntime, findTool, type RuntimeName } from "./detect.js";
import { currentIdentity, type Identity } from "./identity.js";
import { prepareSpare, releaseHelper, takeHelper } from "./helper-pool.js";
import type { ExecJob, ExecMount, HelperJob, HelperMessage, HelperMetrics } from "./job.js";
import type { EnvConfig } from "../env-config.js";


export { detectRuntime } from "./detect.js";

export type { ExecMount } from "./job.js";

/** LADING_OVERLAY, LADING_CGROUP, LADING_SPARE_HELPER, LADING_SUBIDS (env-config.ts). */
export type ExecSettings = Pick<EnvConfig, "overlay" | "cgroup" | "spareHelper" | "subids">;

export interface ExecRequest {
  store: ExecStore;
  /**
   * The helper process's script: it calls serveExecJobs with a function that
   * opens the real store (exec/ knows only the ExecStore interface).
   */
  helper: string;
  /** The environment's settings for execs (a session's, read once). */
  settings: ExecSettings;
  /** The container's layers, base first. */
  layers: LayerRef[];
  args: string[];
  env: string[];
  /** Secret variables: in the process env only, never in a layer, log, cache key or error. */
  secretEnv?: Record<string, string>;
  /** Absolute; created if missing (as docker does). */
  cwd: string;
  /** "", "name", "uid", "name:group", "uid:gid", resolved through the rootfs' /etc/passwd and /etc/group. */
  user: string;
  stdin?: string;
  mounts: ExecMount[];
  network: "host" | "none";
  insecureRootCapabilities?: boolean;
  /**
   * Run the command itself as PID 1. By default (as Dagger does) a small
   * init, tini, is PID 1: it reaps orphaned zombies and passes signals on.
   */
  noInit?: boolean;
  /** Default: the first of runc, crun, podman installed (a session passes $LADING_RUNTIME here). */
  runtime?: RuntimeName;
  layer?: { compression?: "gzip" | "zstd" | "none"; mediaTypes?: "OCI" | "Docker"; sourceDateEpoch?: number; clampMtime?: boolean };
  signal?: AbortSignal;
  onOutput?: (stream: "stdout" | "stderr", chunk: Buffer) => void;
  debug?: (msg: string) => void;
  /**
   * Who runs the job instead of a pooled helper: a session network's
   * helper (net/), for a container that joins a network lading made.
   */
  via?: (job: ExecJob, opts: HelperRunOpts) => Promise<HelperAnswer>;
}

/** What a helper's run of one job gives back: its answer and the command's output (tails). */
export interface HelperAnswer {
  message: HelperMessage;
  stdout: string;
  stderr: string;
}

export interface HelperRunOpts {
  signal?: AbortSignal;
  onOutput?: ExecRequest["onOutput"];
  debug?: (m: string) => void;
}

export interface ExecMetrics extends HelperMetrics {
  wallSeconds: number;
}

export interface ExecResult {
  exitCode: number;
  /** Full output as text, capped at OUTPUT_CAP bytes (the tail is kept). */
  stdout: string;
  stderr: string;
  /** The step's changes as one new layer, already in the store; undefined when nothing changed. */
  layer?: LayerRef;
  metrics: ExecMetrics;
}

export const OUTPUT_CAP = 4 << 20;

/** Keeps the last `cap` bytes of a stream. */
export class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly cap: number) {}
  push(c: Buffer): void {
    this.chunks.push(c);
    this.size += c.length;
    while (this.size - this.chunks[0]!.length >= this.cap) this.size -= this.chunks.shift()!.length;
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.cap)).toString("utf8");
  }
}

/** Hands `job` to a helper in lading's namespaces (a waiting one, or a new one) and collects its answer. */
function runHelper(
  helper: string,
  spare: boolean,
  identity: Identity,
  job: HelperJob,
  opts: HelperRunOpts,
): Promise<HelperAnswer> {
  const unshare = findTool("unshare");
  if (!unshare) throw new LadingError("RUNTIME_UNAVAILABLE", "`unshare` is not installed: install the Debian package util-linux");
  if (identity.kind === "subids" && !findTool("newuidmap")) {
    throw new LadingError("RUNTIME_UNAVAILABLE", "newuidmap/newgidmap are not installed (needed to map subordinate ids): install the Debian package uidmap");
  }
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(new LadingError("CANCELLED", "exec cancelled before it started"));
    const child = takeHelper(unshare, helper, identity);
    const out = new Tail(OUTPUT_CAP);
    const err = new Tail(OUTPUT_CAP);
    // What the helper itself prints (not the command): only for explaining a helper that died.
    const own = new Tail(64 * 1024);
    const onOwn = (c: Buffer) => own.push(c);
    child.stdout!.on("data", onOwn);
    child.stderr!.on("data", onOwn);
    const onMessage = (m: HelperMessage) => {
      if (m.type === "debug") opts.debug?.(m.msg);
      else if (m.type === "output") {
        const chunk = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
        (m.stream === "stdout" ? out : err).push(chunk);
        opts.onOutput?.(m.stream, chunk);
      } else finish(m);
    };
    const onAbort = () => child.kill("SIGTERM");
    const onError = (e: Error) => {
      detach();
      reject(new LadingError("RUNTIME_UNAVAILABLE", `starting the exec helper: ${e.message}`, { cause: e }));
    };
    const onClose = (code: number | null, sig: NodeJS.Signals | null) => {
      detach();
      if (job.kind === "exec") prepareSpare(unshare, helper, identity, spare);
      if (opts.signal?.aborted) return reject(new LadingError("CANCELLED", "exec cancelled"));
      const tail = own.text().trim().split("\n").slice(-5).join("\n");
      reject(new LadingError("INTERNAL", `the exec helper ended (${sig ?? "exit " + code}) without an answer${tail ? ": " + tail : ""}`));
    };
    function detach(): void {
      child.off("message", onMessage);
      child.off("error", onError);
      child.off("close", onClose);
      child.stdout!.off("data", onOwn);
      child.stderr!.off("data", onOwn);
      opts.signal?.removeEventListener("abort", onAbort);
    }
    function finish(answer: HelperMessage): void {
      detach();
      const cancelled = !!opts.signal?.aborted;
      // A failed job may have left mounts in the helper's namespace; podman's stay there too.
      const reuse = !cancelled && answer.type !== "error" && !(job.kind === "exec" && backendFor(job.runtime).retiresHelper);
      releaseHelper(child, unshare!, helper, identity, reuse, spare);
      if (cancelled) return reject(new LadingError("CANCELLED", "exec cancelled"));
      if (answer.type === "error") return reject(new LadingError(answer.code as LadingErrorCode, answer.message));
      resolve({ message: answer, stdout: out.text(), stderr: err.text() });
    }
    child.on("message", onMessage);
    child.on("error", onError);
    child.on("close", onClose);
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    child.send(job);
  });
}


/** The job runExec hands a helper for `req` (a service's start builds one the same way). */
export function buildExecJob(req: Omit<ExecRequest, "helper" | "via">): ExecJob {
  if (req.args.length === 0) throw new LadingError("INVALID_ARGUMENT", "runExec: no command given");
  if (!req.cwd.startsWith("/")) throw new LadingError("INVALID_ARGUMENT", `runExec: working directory "${req.cwd}" is not absolute`);
  const runtime = chooseRuntime(req.runtime);
  const identity = currentIdentity(req.settings.subids);
  req.debug?.(`exec: ${runtime.name} (${runtime.path}), ${identity.kind === "root" ? "as root" : identity.kind === "subids" ? "rootless with subordinate ids" : "rootless, single id"}`);
  let init: string | undefined;
  if (!req.noInit) {
    init = findTool("tini-static");
    if (!init) req.debug?.("exec: no init process (tini-static not found: install the Debian package tini); the command runs as PID 1");
  }
  return {
    kind: "exec",
    storeRoot: req.store.root,
    identity,
    layers: req.layers,
    args: req.args,
    env: req.env,
    secretEnv: req.secretEnv ?? {},
    cwd: req.cwd,
    user: req.user,
    ...(req.stdin !== undefined ? { stdin: req.stdin } : {}),
    mounts: req.mounts,
    network: req.network,
    insecureRootCapabilities: !!req.insecureRootCapabilities,
    ...(init ? { init } : {}),
    runtime,
    layer: req.layer ?? {},
    overlay: req.settings.overlay,
    cgroup: req.settings.cgroup,
    ownerPid: process.pid,
    containerId: `lading-${process.pid}-${randomBytes(5).toString("hex")}`,
  };
}

export async function runExec(req: ExecRequest): Promise<ExecResult> {
  const started = process.hrtime.bigint();
  const job = buildExecJob(req);
  const { message, stdout, stderr } = req.via ? await req.via(job, req) : await runHelper(req.helper, req.settings.spareHelper, job.identity, job, req);
  if (message.type !== "result") throw new LadingError("INTERNAL", `the exec helper answered ${message.type} to an exec`);
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { exitCode: message.exitCode, stdout, stderr, ...(message.layer ? { layer: message.layer } : {}), metrics: { ...message.metrics, wallSeconds } };
}

/**
 * Kills and deletes containers, and removes work dirs, half-made snapshots
 * and cgroups, left in `store` by lading processes that are gone (a crash
 * or SIGKILL). The engine calls it once at start; safe while other lading
 * processes use the store (only what dead processes owned is touched).
 */
export async function reapLeftovers(store: ExecStore, helper: string, settings: ExecSettings): Promise<void> {
  const identity = currentIdentity(settings.subids);
  const runtimePaths: Partial<Record<"runc" | "crun", string>> = {};
  for (const name of ["runc", "crun"] as const) {
    const path = findTool(name);
    if (path) runtimePaths[name] = path;
  }
  await runHelper(helper, settings.spareHelper, identity, { kind: "reap", storeRoot: store.root, identity, runtimePaths }, {});
}

/**
 * Hands trees under the store that an exec left owned by subordinate ids
 * back to the user (see reclaim-job.ts), so the store can remove them. As
 * root there is nothing to hand back.
 */
export async function reclaimTrees(storeRoot: string, helper: string, settings: ExecSettings, paths: readonly string[]): Promise<void> {
  const identity = currentIdentity(settings.subids);
  if (identity.kind === "root" || paths.length === 0) return;
  await runHelper(helper, settings.spareHelper, identity, { kind: "reclaim", storeRoot, identity, paths: [...paths] }, {});
}
