/** Runs build-script.js as a child process, optionally SIGKILLing it after a delay. */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeBusyboxLayout } from "../helpers/images.js";

const SCRIPT = fileURLToPath(new URL("./build-script.js", import.meta.url));

export interface BuildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
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

export function runBuild(store: string, inputs: BuildInputs, out: string, variant: string, opts: { killAfterMs?: number; tag?: string; env?: NodeJS.ProcessEnv } = {}): Promise<BuildRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const args = [SCRIPT, store, inputs.base, inputs.context, out, variant, ...(opts.tag ? [opts.tag] : [])];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...opts.env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    child.on("error", reject);
    const timer = opts.killAfterMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), opts.killAfterMs);
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout: stdout.trim(), stderr, ms: performance.now() - t0 });
    });
  });
}

export function fileSha(path: string): string | undefined {
  return existsSync(path) ? createHash("sha256").update(readFileSync(path)).digest("hex") : undefined;
}
