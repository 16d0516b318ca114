/**
 * The instructions that only change the image config or the frontend's own
 * state (no layer): ARG, ENV, LABEL, WORKDIR, USER, STOPSIGNAL, EXPOSE,
 * VOLUME, SHELL, CMD, ENTRYPOINT, HEALTHCHECK, ONBUILD, MAINTAINER.
 */
import { posix } from "node:path";
import { ContainerfileError } from "../../errors.js";
import type { Command, Instruction } from "./instructions.js";
import type { StageState } from "./state.js";
import type { Vars } from "./vars.js";

export type ConfigInstruction = Exclude<Instruction, { kind: "FROM" | "COPY" | "ADD" | "RUN" }>;

export interface ConfigStepContext {
  file: string;
  escape: string;
  buildArgs: Record<string, string>;
  /** ARGs declared before the first FROM (a stage's bare `ARG NAME` takes their value). */
  globals: Vars;
}

/** The argv of a CMD/ENTRYPOINT/RUN: exec form as is, shell form wrapped in the stage's shell. */
export function commandArgs(shell: string[], cmd: Command): string[] {
  return "exec" in cmd ? cmd.exec : [...shell, cmd.shell];
}

export function applyConfigStep(st: StageState, ins: ConfigInstruction, ctx: ConfigStepContext): StageState {
  const x = (w: string) => st.vars.expand(w, ctx.file, ins.line, ins.kind, ctx.escape);
  const fail = (msg: string): never => {
    throw new ContainerfileError(ctx.file, ins.line, `${ins.kind}: ${msg}`);
  };
  const d = { description: ins.text };
  switch (ins.kind) {
    case "ARG":
      for (const { name, default: dflt } of ins.args) {
        const given = ctx.buildArgs[name];
        st.vars.args.set(name, given ?? (dflt !== undefined ? x(dflt) : ctx.globals.args.get(name)));
      }
      return st;
    case "ENV": {
      // All pairs are expanded with the variables as they were before this line (docker's rule).
      const pairs = ins.pairs.map((p) => [x(p.key), x(p.value)] as const);
      for (const [k, v] of pairs) {
        if (k === "" || k.includes("=")) fail(`invalid variable name "${k}"`);
        st.vars.env.set(k, v);
        st.c = st.c.withEnvVariable(k, v, d);
      }
      return st;
    }
    case "LABEL":
      for (const p of ins.pairs) {
        const k = x(p.key);
        if (k === "") fail("a label name is empty after expansion");
        st.c = st.c.withLabel(k, x(p.value), d);
      }
      return st;
    case "WORKDIR":
      st.workdir = posix.resolve(st.workdir, x(ins.value));
      st.c = st.c.withWorkdir(st.workdir, d);
      return st;
    case "USER": {
      const u = x(ins.value);
      if (u === "") fail("the user is empty after expansion");
      st.user = u;
      st.c = st.c.withUser(u, d);
      return st;
    }
    case "STOPSIGNAL": {
      const s = x(ins.value);
      if (!isSignal(s)) fail(`invalid signal "${s}" (use a name like SIGTERM or a number)`);
      st.c = st.c.withStopSignal(s, d);
      return st;
    }
    case "EXPOSE":
      for (const v of ins.values.flatMap((raw) => st.vars.expandWords(raw, ctx.file, ins.line, ins.kind, ctx.escape))) {
        const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(v);
        if (!m) return fail(`invalid port "${v}" (use 80, 80/udp or 8000-8010/tcp)`);
        const proto = (m[3] ?? "tcp").toUpperCase();
        if (proto === "SCTP") fail(`SCTP ports are not supported ("${v}")`);
        const lo = Number(m[1]);
        const hi = m[2] !== undefined ? Number(m[2]) : lo;
        if (lo < 1 || hi > 65535 || hi < lo) fail(`invalid port range "${v}"`);
        for (let p = lo; p <= hi; p++) st.c = st.c.withExposedPort(p, { protocol: proto as "TCP" | "UDP", description: ins.text });
      }
      return st;
    case "VOLUME":
      for (const raw of ins.values) {
        const v = x(raw);
        if (v.trim() === "") fail("a volume path cannot be empty");
        st.c = st.c.withVolume(v, d);
      }
      return st;
    case "SHELL":
      st.shell = ins.args;
      st.c = st.c.withShell(ins.args, d);
      return st;
    case "CMD":
      st.c = st.c.withDefaultArgs(commandArgs(st.shell, ins.command), d);
      st.cmdSet = true;
      return st;
    case "ENTRYPOINT":
      // `ENTRYPOINT []` unsets it (BuildKit stores null), and like any ENTRYPOINT drops a CMD not set in this stage.
      if ("exec" in ins.command && ins.command.exec.length === 0) st.c = st.c.withoutEntrypoint({ keepDefaultArgs: st.cmdSet });
      else st.c = st.c.withEntrypoint(commandArgs(st.shell, ins.command), { keepDefaultArgs: st.cmdSet, description: ins.text });
      return st;
    case "HEALTHCHECK": {
      if (!ins.command) {
        st.c = st.c.withHealthcheck({ Test: ["NONE"] }, d);
        return st;
      }
      const Test = "exec" in ins.command ? ["CMD", ...ins.command.exec] : ["CMD-SHELL", ins.command.shell];
      // Unset options stay absent, so the runtime's defaults apply (docker writes them as 0).
      st.c = st.c.withHealthcheck(
        {
          Test,
          ...(ins.interval ? { Interval: ins.interval } : {}),
          ...(ins.timeout ? { Timeout: ins.timeout } : {}),
          ...(ins.startPeriod ? { StartPeriod: ins.startPeriod } : {}),
          ...(ins.startInterval ? { StartInterval: ins.startInterval } : {}),
          ...(ins.retries ? { Retries: ins.retries } : {}),
        },
        d,
      );
      return st;
    }
    case "MAINTAINER":
      // As docker and buildah do: the image's author, never expanded.
      st.c = st.c.withAuthor(ins.value, d);
      return st;
    case "ONBUILD": {
      const m = /^(\S+)([\s\S]*)$/.exec(ins.trigger)!;
      const trigger = m[1]!.toUpperCase() + m[2]!;
      st.onBuild = [...st.onBuild, trigger];
      st.c = st.c.withOnBuild(trigger, d);
      return st;
    }
  }
}

const SIGNALS = new Set(
  "HUP INT QUIT ILL TRAP ABRT IOT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD CLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO POLL PWR SYS UNUSED RTMIN RTMAX".split(" "),
);

/** moby's signal.ParseSignal on Linux: a number, or a name with or without "SIG", any case (RTMIN+n, RTMAX-n too). */
function isSignal(s: string): boolean {
  if (/^\d+$/.test(s)) return Number(s) > 0 && Number(s) <= 64;
  const name = s.toUpperCase().replace(/^SIG/, "");
  const rt = /^RTM(IN\+|AX-)(\d+)$/.exec(name);
  if (rt) return Number(rt[2]) >= 1 && Number(rt[2]) <= 15;
  return SIGNALS.has(name);
}
