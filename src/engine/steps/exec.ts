/**
 * withExec: runs a command on the container's root filesystem through
 * exec/, turns its changes into one layer, and applies `expect`. Results
 * within `expect` (non-zero ones too) are cached; failures never are.
 * Secret values never reach the cache key, the cached record, progress or
 * errors: they are scrubbed from output like Dagger does.
 */
import { ExecError, LadingError } from "../../errors.js";
import type { Digest } from "../../oci/digest.js";
import type { LayerRef, Platform } from "../../oci/types.js";
import type { ExecSpec, ExpectSpec } from "../ops.js";
import type { ImageState, ExecOutcome } from "../image-state.js";
import type { StepContext } from "../step-context.js";
import { inputAttributes, outputAttributes, runStep } from "./run-step.js";
import { layerCacheKey } from "./step.js";
import { layerTimes, type Session } from "../session.js";
import { ensureLayers } from "../registry-cache/lazy.js";
import { EXEC_HELPER } from "../exec-helper-path.js";
import { platformEmulation } from "../emulation.js";
import { buildMounts, collectSecretValues, secretValue } from "./exec-inputs.js";
import { servicesRunning } from "../services-live.js";

export interface ExecStepResult extends ExecOutcome {
  layer?: LayerRef;
}

/**
 * Whether `expect` accepts `code`. A death by signal N arrives as 128+N (as
 * docker reports it): a failure like any other non-zero code, so "FAILURE"
 * and "ANY" take it, and the caller reads it from exitCode().
 */
export function expectAllows(expect: ExpectSpec, code: number): boolean {
  if (Array.isArray(expect)) return expect.includes(code);
  if (expect === "SUCCESS") return code === 0;
  if (expect === "FAILURE") return code !== 0;
  return true;
}

export async function execStep(ev: StepContext, state: ImageState, exec: ExecSpec, key: Digest, name: string): Promise<ExecStepResult> {
  const session = ev.session;
  const store = session.store;
  const secrets = collectSecretValues(ev, state);
  const scrub = (s: string) => secrets.reduce((acc, v) => (v.length >= 1 ? acc.split(v).join("***") : acc), s);
  const cacheKey = layerCacheKey(session, key);
  const attributes = { ...inputAttributes(state), "lading.cache.key": key };
  if (!session.config.noCache && !exec.cacheBuster) {
    const hit = await store.getCached<ExecStepResult>(cacheKey);
    if (hit && (!hit.layer || (await store.claimBlob(hit.layer.descriptor.digest, hit.layer.descriptor.size)))) {
      await store.touch({ cacheKey }, ...(hit.layer ? [{ blob: hit.layer.descriptor.digest }] : []));
      session.emit({ type: "step", id: key, name, status: "cached", duration: 0, layerWork: false, attributes: { ...attributes, ...outputAttributes(hit) } });
      return logged(session, state.platform, key, cacheKey, hit);
    }
    if (session.cacheSources.length > 0) {
      const { takeRemote } = await import("../registry-cache/remote.js");
      const remote = await takeRemote(session, cacheKey, state.platform);
      if (remote && typeof remote.record.exitCode === "number") {
        const r = remote.record as ExecStepResult;
        session.emit({ type: "step", id: key, name, status: "cached", duration: 0, layerWork: false, attributes: { ...attributes, ...outputAttributes(r), "lading.cache.source": remote.source } });
        return logged(session, state.platform, key, cacheKey, r);
      }
    }
  }
  let args = exec.args;
  if (exec.useEntrypoint && state.config.Entrypoint?.length) args = [...state.config.Entrypoint, ...args];
  if (args.length === 0) throw new LadingError("INVALID_ARGUMENT", `${name}: no command given (withExec needs at least one argument)`);
  // A foreign platform's command needs its emulator: said here, not as "exec format error" from inside the run.
  await platformEmulation(session, state.platform);

  const result = await runStep(session, { id: key, name, attributes }, async () => {
    const { runExec, reapLeftovers } = await import("../../exec/run.js");
    // Containers, mounts and runtime state left by a crashed earlier run go before the first exec.
    await ev.once("reap-leftovers", () => reapLeftovers(store, EXEC_HELPER, session.config.env));
    // Layers that cached steps left in a registry build cache are needed now.
    await ensureLayers(session, state.layers);
    const mounts = await buildMounts(ev, state);
    const secretEnv: Record<string, string> = {};
    for (const s of state.secretEnv) secretEnv[s.name] = secretValue(ev, s.secret.name).toString("utf8");
    // On the session network when bound to services, and (as every Dagger container) while a service runs, so
    // that its global hostnames resolve; else the host's network, and the services' code is never even loaded.
    const onSessionNet = !!state.services?.length || (exec.network === "host" && servicesRunning(session));
    const services = onSessionNet ? (await import("../services.js")).servicesOf(session) : undefined;
    const run = (via?: import("../../exec/run.js").ExecRequest["via"]) => runExec({
      store,
      helper: EXEC_HELPER,
      settings: session.config.env,
      layers: [...state.layers],
      args,
      env: withTraceparent(state.config.Env ?? [], session.config.traceparent?.(key)),
      secretEnv,
      cwd: state.config.WorkingDir || "/",
      user: state.config.User ?? "",
      stdin: exec.stdin,
      mounts,
      network: exec.network,
      insecureRootCapabilities: exec.insecureRootCapabilities,
      noInit: exec.noInit,
      runtime: session.config.runtime,
      layer: { compression: session.config.compression, mediaTypes: session.config.mediaTypes, ...layerTimes(session.config) },
      signal: session.config.signal,
      onOutput: (stream, chunk) => session.emit({ type: "log", id: key, stream, text: scrub(chunk.toString("utf8")) }),
      debug: (m) => session.debug(m),
      // On the session network: by an OCI runtime that can join it.
      ...(via && services ? { via, runtime: services.runtime() } : {}),
    });
    const r = services ? await services.withBindings(ev, state, run) : await run();
    const out: ExecStepResult = { exitCode: r.exitCode, stdout: scrub(r.stdout), stderr: scrub(r.stderr), metrics: r.metrics as unknown as Record<string, unknown>, ...(r.layer ? { layer: r.layer } : {}) };
    if (!expectAllows(exec.expect, r.exitCode)) throw new ExecError(args.map(scrub), r.exitCode, out.stdout, out.stderr, name);
    return out;
  });
  if (!exec.cacheBuster) {
    await store.putCached(cacheKey, result);
    logged(session, state.platform, key, cacheKey, result);
  }
  return result;
}

/** Notes an exec's result for a build cache export (its CPU figures stay here: they describe this run), and returns it. */
function logged(session: Session, platform: Platform, key: Digest, cacheKey: Digest, r: ExecStepResult): ExecStepResult {
  session.cacheLog.set(key, { cacheKey, kind: "exec", platform, record: { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, ...(r.layer ? { layer: r.layer } : {}) } });
  return r;
}

/** The image's environment, with $TRACEPARENT naming this step's span when traced (never part of the cache key). */
function withTraceparent(env: readonly string[], traceparent: string | undefined): string[] {
  if (!traceparent) return [...env];
  return [...env.filter((e) => !e.startsWith("TRACEPARENT=")), `TRACEPARENT=${traceparent}`];
}

