/**
 * Runs build-script.js as a child process, optionally SIGKILLing it a given
 * time after it reports that its store is open (so kill points spread over
 * the build itself, not over Node's start-up).
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeBusyboxLayout } from "../helpers/images.js";

const SCRIPT = fileURLToPath(new URL("./build-script.js", import.meta.url));
const REGISTRY_SCRIPT = fileURLToPath(new URL("./registry-script.js", import.meta.url));

export interface BuildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** From the script's "ready" line (store open) to its end. */
  ms: number;
  /** From "ready" to the digest on stdout: the build and export themselves, without closing down. */
  workMs: number;
  /** The last `lading-phase` line the script had written when the kill was sent ("ready" before the first); undefined when not killed. */
  phaseAtKill?: string;
}

/** When to send SIGKILL: `afterMs` after "ready", or after the first phase line that starts with `phase`. */
export interface KillAt {
  killAfterMs?: number;
  killOnPhase?: { phase: string | RegExp; afterMs: number };
}

export interface BuildInputs {
  base: string;
  context: string;
}

/** A busybox base layout and a build context with a few files (one large enough that writing its layer takes a while). */
export async function makeInputs(dir: string): Promise<BuildInputs> {
  const base = join(dir, "base");
  await makeBusyboxLayout(base);
  const context = join(dir, "ctx");
  mkdirSync(join(context, "sub", "deep"), { recursive: true });
  writeFileSync(join(context, "a.txt"), "a\n");
  writeFileSync(join(context, "sub", "b.txt"), "b\n");
  // Deterministic pseudo-random bytes (compress poorly, so the layer write is not instant).
  const big = Buffer.alloc(3 * 1024 * 1024);
  let h = createHash("sha256").update("seed").digest();
  for (let off = 0; off < big.length; off += h.length) {
    h.copy(big, off);
    h = createHash("sha256").update(h).digest();
  }
  writeFileSync(join(context, "sub", "deep", "big.bin"), big);
  return { base, context };
}

export function runBuild(store: string, inputs: BuildInputs, out: string, variant: string, opts: KillAt & { tag?: string; env?: NodeJS.ProcessEnv } = {}): Promise<BuildRun> {
  return runScript([SCRIPT, store, inputs.base, inputs.context, out, variant, ...(opts.tag ? [opts.tag] : [])], opts);
}

/** Pushes the store's image `name` to `dest` (registry-script.js). */
export function runPush(store: string, name: string, dest: string, opts: KillAt = {}): Promise<BuildRun> {
  return runScript([REGISTRY_SCRIPT, "push", store, name, dest], opts);
}

/** Pulls `reference` into `store` (registry-script.js); prints the image's digest. */
export function runPull(store: string, reference: string, opts: KillAt = {}): Promise<BuildRun> {
  return runScript([REGISTRY_SCRIPT, "pull", store, reference], opts);
}

function runScript(args: string[], opts: KillAt & { env?: NodeJS.ProcessEnv }): Promise<BuildRun> {
  return new Promise((resolve, reject) => {
    let t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...opts.env } });
    let stdout = "";
    let stderr = "";
    let workMs = NaN;
    let phase = "ready";
    let phaseAtKill: string | undefined;
    const killIn = (ms: number) => {
      timer = setTimeout(() => {
        phaseAtKill = phase;
        child.kill("SIGKILL");
      }, ms);
    };
    child.stdout.on("data", (c) => {
      if (!stdout) workMs = performance.now() - t0;
      stdout += c;
    });
    let partial = "";
    child.stderr.on("data", (c) => {
      stderr += c;
      partial += c;
      const lines = partial.split("\n");
      partial = lines.pop()!;
      for (const line of lines) {
        if (line === "lading-ready") {
          t0 = performance.now();
          if (opts.killAfterMs !== undefined) killIn(opts.killAfterMs);
        } else if (line.startsWith("lading-phase ")) {
          phase = line.slice("lading-phase ".length);
          if (opts.killOnPhase && !timer && phaseMatches(phase, opts.killOnPhase.phase)) killIn(opts.killOnPhase.afterMs);
        }
      }
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout: stdout.trim(), stderr, ms: performance.now() - t0, workMs, ...(signal === "SIGKILL" ? { phaseAtKill } : {}) });
    });
  });
}

export function fileSha(path: string): string | undefined {
  return existsSync(path) ? createHash("sha256").update(readFileSync(path)).digest("hex") : undefined;
}

/**
 * Kills `points` runs at offsets spread from 0 to just under `referenceMs`.
 * Later runs can be faster than the reference (warm page cache, a spare exec
 * helper, or a reference timed while other tests loaded the machine): when a
 * run finishes before its kill, the remaining offsets shrink so the kills
 * still land mid-way. `after` checks what each run left. Returns how many
 * runs were killed before they had printed their result.
 */
export async function killSweep(points: number, referenceMs: number, run: (atMs: number, k: number) => Promise<BuildRun>, after: (run: BuildRun, atMs: number, k: number) => Promise<void>): Promise<number> {
  let scale = 1;
  let point = 0;
  for (let k = 0; point < points && k < points * 2; k++) {
    const at = Math.round((0.9 * referenceMs * scale * point) / points);
    const result = await run(at, k);
    if (result.signal === "SIGKILL" && !result.stdout) {
      point++;
    } else {
      // Finished, or killed only while closing down after printing its result.
      if (result.signal !== "SIGKILL" && result.code !== 0) throw new Error(`run ${k} neither finished nor was killed (exit ${result.code}): ${result.stderr}`);
      scale *= 0.8;
    }
    await after(result, at, k);
  }
  return point;
}

function phaseMatches(phase: string, want: string | RegExp): boolean {
  return typeof want === "string" ? phase.startsWith(want) : want.test(phase);
}
