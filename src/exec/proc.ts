/** Small helpers for running system tools from the exec helper. */
import { spawn } from "node:child_process";

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cmd args` to completion, capturing output (never throws on a non-zero exit). */
export function runTool(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"], ...(opts.env ? { env: opts.env } : {}) });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code, sig) => resolve({ code: code ?? 128 + (sig ? 9 : 0), stdout, stderr }));
    if (child.stdin) {
      child.stdin.on("error", () => {}); // a tool that exits without reading its input
      child.stdin.end(opts.input);
    }
  });
}
