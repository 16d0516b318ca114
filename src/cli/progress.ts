/**
 * Renders progress events on stderr: live lines on a TTY (log-update),
 * one line per finished step in plain mode, JSON lines for tools.
 * Secrets never reach here: the engine scrubs output before emitting it.
 */
import type { ProgressEvent, StepEvent } from "../index.js";

export type ProgressMode = "auto" | "tty" | "plain" | "json" | "quiet";

export interface ProgressRenderer {
  listener: (e: ProgressEvent) => void;
  /** Shows a warning (a deprecated instruction, say) in every mode, beside the progress lines. */
  warn(message: string): void;
  stop(): void;
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/** `showPlatform`: put each step's platform in front of its name (a build for several platforms, whose steps share names). */
export async function createProgress(mode: ProgressMode, stderr: NodeJS.WritableStream & { isTTY?: boolean }, debug: boolean, opts: { showPlatform?: boolean } = {}): Promise<ProgressRenderer> {
  const named = (e: StepEvent): StepEvent => {
    const p = e.attributes?.["lading.platform"];
    return opts.showPlatform && typeof p === "string" ? { ...e, name: `[${p}] ${e.name}` } : e;
  };
  const resolved = mode === "auto" ? (stderr.isTTY ? "tty" : "plain") : mode;
  const warnLine = (message: string) => stderr.write(`warning: ${message}\n`);
  if (resolved === "quiet") return { listener: (e) => e.type === "warning" && warnLine(e.message), warn: warnLine, stop: () => {} };
  if (resolved === "json") {
    return {
      listener: (e) => {
        if (e.type === "debug" && !debug) return;
        // Already the warning line's own JSON shape: { time, type: "warning", message }.
        stderr.write(JSON.stringify({ time: new Date().toISOString(), ...e }) + "\n");
      },
      warn: (message) => stderr.write(JSON.stringify({ time: new Date().toISOString(), type: "warning", message }) + "\n"),
      stop: () => {},
    };
  }
  if (resolved === "plain") {
    return {
      listener: (e) => {
        if (e.type === "debug") {
          if (debug) stderr.write(`debug: ${e.message}\n`);
        } else if (e.type === "warning") {
          warnLine(e.message);
        } else if (e.type === "step" && e.kind) {
          // Spans and blobs of a push are for traces and tools; the lines stay one per step.
        } else if (e.type === "log") {
          for (const line of e.text.split("\n")) if (line) stderr.write(`  │ ${line}\n`);
        } else if (e.status === "running" && !e.metrics) stderr.write(`=> ${named(e).name}\n`);
        else if (e.status !== "running") stderr.write(`${stepLine(named(e), "")}\n`);
      },
      warn: warnLine,
      stop: () => {},
    };
  }
  const { createLogUpdate } = await import("log-update");
  const render = createLogUpdate(stderr as NodeJS.WriteStream);
  const steps = new Map<string, StepEvent & { start: number }>();
  let frame = 0;
  const draw = () => {
    const lines: string[] = [];
    for (const s of steps.values()) {
      if (s.status === "running") lines.push(`${SPINNER[frame % SPINNER.length]} ${s.name} ${(process.uptime() - s.start).toFixed(1)}s`);
    }
    render(lines.join("\n"));
  };
  const timer = setInterval(() => {
    frame++;
    draw();
  }, 100);
  timer.unref();
  return {
    listener: (e) => {
      if (e.type === "debug") {
        if (debug) {
          render.clear();
          stderr.write(`debug: ${e.message}\n`);
        }
        return;
      }
      if (e.type === "warning") {
        render.clear();
        warnLine(e.message);
        draw();
        return;
      }
      if (e.type === "log" || e.kind) return;
      const prev = steps.get(e.id);
      if (e.status === "running") {
        steps.set(e.id, { ...named(e), metrics: e.metrics ?? prev?.metrics, start: prev?.start ?? process.uptime() });
      } else {
        steps.delete(e.id);
        render.clear();
        stderr.write(`${stepLine({ ...named(e), metrics: e.metrics ?? prev?.metrics }, "")}\n`);
      }
      draw();
    },
    warn: (message) => {
      render.clear();
      warnLine(message);
      draw();
    },
    stop: () => {
      clearInterval(timer);
      render.clear();
    },
  };
}

function stepLine(e: StepEvent, prefix: string): string {
  const mark = e.status === "error" ? "✘" : "✔";
  const cached = e.status === "cached" ? " CACHED" : "";
  const t = e.duration !== undefined ? ` ${e.duration.toFixed(1)}s` : "";
  const cpu = cpuText(e.metrics);
  const err = e.status === "error" && e.error ? `: ${e.error.split("\n")[0]}` : "";
  return `${prefix}${mark}${cached} ${e.name}${t}${cpu}${err}`;
}

/**
 * An exec's CPU figures as a line shows them: the same numbers JSON progress
 * carries in `metrics`, with where the pressure comes from (the exec's own
 * cgroup, or the whole host when it has none).
 */
function cpuText(m: Record<string, unknown> | undefined): string {
  if (!m) return "";
  const n = (k: string) => (typeof m[k] === "number" ? (m[k] as number) : undefined);
  const parts: string[] = [];
  const user = n("cpuUserSeconds");
  const sys = n("cpuSystemSeconds");
  if (user !== undefined || sys !== undefined) parts.push(`CPU user ${(user ?? 0).toFixed(2)}s sys ${(sys ?? 0).toFixed(2)}s`);
  const own = n("cpuPressureSomeSeconds");
  const host = n("hostPressureSomeSeconds");
  if (own !== undefined) parts.push(`CPU pressure (some): ${own.toFixed(1)}s`);
  else if (host !== undefined) parts.push(`CPU pressure (some, host-wide): ${host.toFixed(1)}s`);
  return parts.length ? ` | ${parts.join(" | ")}` : "";
}
