/**
 * withExec: runs a command on the container's root filesystem through
 * exec/, turns its changes into one layer, and applies `expect`. Results
 * within `expect` (non-zero ones too) are cached; failures never are.
 * Secret values never reach the cache key, the cached record, progress or
 * errors: they are scrubbed from output like Dagger does.
 */
import { chmod, mkdir } from "node:fs/promises";
import { join, posix } from "node:path";
import { ExecError, LadingError } from "../../errors.js";
import { hexOf, sha256, type Digest } from "../../oci/digest.js";
import type { LayerRef, Platform } from "../../oci/types.js";
import type { ExecSpec, ExpectSpec } from "../ops.js";
import type { ImageState, ExecOutcome } from "../image-state.js";
import type { StepContext } from "../step-context.js";
import { resolveOwner } from "../owner.js";
import { materializeTree } from "../materialize.js";
import { inputAttributes, layerCacheKey, outputAttributes, runStep } from "./step.js";
import { layerTimes, type Session } from "../session.js";
import { ensureLayers } from "../registry-cache/lazy.js";
import { EXEC_HELPER } from "../exec-helper-path.js";
import { treeWalk, type Tree } from "../tree.js";
import { platformEmulation } from "../emulation.js";

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
    const r = await runExec({
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
    });
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

function secretValue(ev: StepContext, name: string): Buffer {
  const v = ev.session.secrets.get(name);
  if (!v) throw new LadingError("NOT_FOUND", `secret "${name}" has no value in this session (set it with client.setSecret)`);
  return v;
}

function collectSecretValues(ev: StepContext, state: ImageState): string[] {
  const names = new Set<string>([...state.secretEnv.map((s) => s.secret.name), ...state.mounts.flatMap((m) => (m.mount.type === "secret" ? [m.mount.secret.name] : []))]);
  return [...names].map((n) => ev.session.secrets.get(n)?.toString("utf8") ?? "").filter((v) => v.length > 0);
}

async function buildMounts(ev: StepContext, state: ImageState) {
  const session = ev.session;
  const mounts: import("../../exec/run.js").ExecMount[] = [];
  for (const { target, mount } of state.mounts) {
    switch (mount.type) {
      case "cache": {
        const base = await session.store.stateDir("volumes");
        const dir = join(base, hexOf(sha256(mount.volume)));
        const ids = mount.owner ? await resolveOwner(session.store, state.layers, mount.owner) : undefined;
        await mkdir(dir, { recursive: true });
        await session.store.touch({ path: dir });
        if (mount.source) {
          const tree = await ev.directory(mount.source);
          await materializeTree(tree, dir, { onlyIfEmpty: true });
        }
        mounts.push({ type: "cache", target, dir, sharing: mount.sharing, ...(ids ? { uid: ids.uid, gid: ids.gid } : {}), ...(mount.userOwned ? { chownToUser: true } : {}) });
        break;
      }
      case "directory": {
        const tree = await ev.directory(mount.dir);
        const dir = await session.tempDir("mount");
        await materializeTree(tree, dir, {});
        // mkdtemp makes it 0700: the mount point must be as open as docker's (a directory of the context), or a USER other than root cannot enter it.
        if (!hasRootEntry(tree)) await chmod(dir, 0o755);
        const ids = mount.owner ? await resolveOwner(session.store, state.layers, mount.owner) : undefined;
        mounts.push({ type: "bind", target, source: dir, readOnly: !!mount.readOnly, ...(ids ? { uid: ids.uid, gid: ids.gid } : {}), ...(mount.userOwned ? { chownToUser: true } : {}) });
        break;
      }
      case "file": {
        const f = await ev.file(mount.file);
        const dir = await session.tempDir("mount");
        const p = join(dir, posix.basename(target) || "file");
        await materializeTree({ key: f.contentDigest ?? sha256(""), entries: [{ ...f, path: posix.basename(p) }] }, dir, {});
        const ids = mount.owner ? await resolveOwner(session.store, state.layers, mount.owner) : undefined;
        mounts.push({ type: "bind", target, source: p, readOnly: false, ...(ids ? { uid: ids.uid, gid: ids.gid } : {}), ...(mount.userOwned ? { chownToUser: true } : {}) });
        break;
      }
      case "temp":
        mounts.push({ type: "tmpfs", target, ...(mount.copyUp ? { copyUp: true } : {}) });
        break;
      case "secret": {
        const ids = mount.owner ? await resolveOwner(session.store, state.layers, mount.owner) : { uid: 0, gid: 0 };
        mounts.push({ type: "secret", target, data: secretValue(ev, mount.secret.name), mode: mount.mode, uid: ids.uid, gid: ids.gid });
        break;
      }
    }
  }
  return mounts;
}

/** Whether the tree gives its top directory's own mode: "" comes first in path order when it is there. */
function hasRootEntry(tree: Tree): boolean {
  for (const e of treeWalk(tree)) return e.path === "" || e.path === ".";
  return false;
}
