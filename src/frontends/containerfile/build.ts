/**
 * Translates parsed stages into Container API calls. Stages are built on
 * demand from the target (FROM <stage>, COPY --from, RUN --mount from=), so
 * only what the target needs is ever recorded; the API is lazy, so nothing
 * runs here except reading base image configs and checking source paths.
 */
import { stat } from "node:fs/promises";
import { join, posix } from "node:path";
import type { Client, Container, Directory, Secret } from "../../index.js";
import { ContainerfileError } from "../../errors.js";
import { applyCopy, relativeInRoot, type CopyRoot } from "./copy.js";
import type { Command, Instruction } from "./instructions.js";
import { parseMount } from "./mounts.js";
import type { ParsedContainerfile, Stage } from "./parse.js";
import { predefinedArgs, Vars } from "./vars.js";

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface BuildInputs {
  client: Client;
  parsed: ParsedContainerfile;
  context: Directory;
  contextPath: string;
  buildArgs: Record<string, string>;
  platform: string;
  buildPlatform: string;
  secrets: Record<string, Secret>;
  noCache: boolean;
}

interface StageState {
  c: Container;
  vars: Vars;
  workdir: string;
  shell: string[];
  cmdSet: boolean;
  platform: string;
}

export class StageBuilder {
  private readonly done = new Map<number, Promise<StageState>>();
  private readonly inProgress: number[] = [];
  private readonly globals: Vars;
  private readonly file: string;

  constructor(private readonly in_: BuildInputs) {
    this.file = in_.parsed.file;
    const predefined = predefinedArgs(in_.platform, in_.buildPlatform);
    const args = new Map<string, string | undefined>(predefined);
    const g = new Vars(new Map(), args);
    for (const a of in_.parsed.globalArgs) {
      for (const { name, default: dflt } of a.args) {
        const given = in_.buildArgs[name];
        args.set(name, given ?? (dflt !== undefined ? g.expand(dflt, this.file, a.line, "ARG", in_.parsed.escape) : predefined.get(name)));
      }
    }
    this.globals = g;
  }

  /** The stage `--target` names (default: the last one). */
  targetStage(target: string | undefined): Stage {
    const stages = this.in_.parsed.stages;
    if (target === undefined) return stages[stages.length - 1]!;
    const s = stages.find((x) => x.name === target.toLowerCase());
    if (!s) {
      const names = stages.filter((x) => x.name).map((x) => x.name);
      throw new ContainerfileError(this.file, 1, `target stage "${target}" could not be found${names.length ? ` (stages: ${names.join(", ")})` : " (no stage has a name: use FROM … AS name)"}`);
    }
    return s;
  }

  async build(stage: Stage): Promise<Container> {
    return (await this.stage(stage.index, stage.from.line)).c;
  }

  private stage(index: number, refLine: number): Promise<StageState> {
    if (this.inProgress.includes(index)) {
      const names = [...this.inProgress.slice(this.inProgress.indexOf(index)), index].map((i) => this.in_.parsed.stages[i]!.name ?? String(i));
      throw new ContainerfileError(this.file, refLine, `circular dependency between stages: ${names.join(" -> ")}`);
    }
    let p = this.done.get(index);
    if (!p) {
      this.inProgress.push(index);
      p = this.translate(this.in_.parsed.stages[index]!).finally(() => this.inProgress.splice(this.inProgress.indexOf(index), 1));
      this.done.set(index, p);
    }
    return p;
  }

  /** A stage named (or numbered) `ref`, or undefined when `ref` is an image. `before` limits the search to earlier stages (FROM). */
  private findStage(ref: string, line: number, before?: number): Stage | undefined {
    const stages = this.in_.parsed.stages;
    const byName = stages.find((s) => s.name === ref.toLowerCase());
    const byIndex = /^\d+$/.test(ref) ? stages[Number(ref)] : undefined;
    const s = byName ?? byIndex;
    if (s && before !== undefined && s.index >= before) {
      if (s.index === before) throw new ContainerfileError(this.file, line, `FROM: stage "${ref}" cannot build on itself`);
      throw new ContainerfileError(this.file, line, `FROM: stage "${ref}" is defined later (line ${s.from.line}); a stage can only build on stages defined before it`);
    }
    if (!s && /^\d+$/.test(ref)) throw new ContainerfileError(this.file, line, `stage ${ref} does not exist (the file has ${stages.length} stage${stages.length === 1 ? "" : "s"})`);
    return s;
  }

  private async translate(stage: Stage): Promise<StageState> {
    const { client, parsed } = this.in_;
    const esc = parsed.escape;
    const from = stage.from;
    const image = this.globals.expand(from.image, this.file, from.line, "FROM", esc);
    const platform = from.platform !== undefined ? this.globals.expand(from.platform, this.file, from.line, "FROM", esc) : this.in_.platform;
    if (image === "") throw new ContainerfileError(this.file, from.line, `FROM: the image name "${from.image}" expands to nothing`);
    let st: StageState;
    const base = this.findStage(image, from.line, stage.index);
    if (base) {
      const b = await this.stage(base.index, from.line);
      st = { ...b, vars: new Vars(new Map(b.vars.env)), cmdSet: false };
    } else if (image.toLowerCase() === "scratch") {
      st = { c: client.container({ platform }), vars: new Vars(), workdir: "/", shell: ["/bin/sh", "-c"], cmdSet: false, platform };
    } else {
      const c = client.container({ platform }).from(image, { description: from.text });
      const cfg = await c.imageConfig();
      const env = new Map<string, string>();
      for (const kv of cfg.Env ?? []) {
        const eq = kv.indexOf("=");
        if (eq > 0) env.set(kv.slice(0, eq), kv.slice(eq + 1));
      }
      st = { c, vars: new Vars(env), workdir: cfg.WorkingDir || "/", shell: cfg.Shell?.length ? cfg.Shell : ["/bin/sh", "-c"], cmdSet: false, platform };
    }
    if (!st.vars.env.has("PATH")) {
      // BuildKit gives every Linux stage a PATH when its base image has none.
      st.vars.env.set("PATH", DEFAULT_PATH);
      st.c = st.c.withEnvVariable("PATH", DEFAULT_PATH);
    }
    for (const ins of stage.instructions) st = await this.apply(st, ins);
    return st;
  }

  private async apply(st: StageState, ins: Instruction): Promise<StageState> {
    const { client, parsed } = this.in_;
    const file = this.file;
    const esc = parsed.escape;
    const x = (w: string) => st.vars.expand(w, file, ins.line, ins.kind, esc);
    const fail = (msg: string): never => {
      throw new ContainerfileError(file, ins.line, `${ins.kind}: ${msg}`);
    };
    const d = { description: ins.text };
    switch (ins.kind) {
      case "FROM":
        return st;
      case "ARG": {
        for (const { name, default: dflt } of ins.args) {
          const given = this.in_.buildArgs[name];
          const value = given ?? (dflt !== undefined ? x(dflt) : this.globals.args.get(name));
          st.vars.args.set(name, value);
        }
        return st;
      }
      case "ENV": {
        // All pairs are expanded with the variables as they were before this line (docker's rule).
        const pairs = ins.pairs.map((p) => [x(p.key), x(p.value)] as const);
        for (const [k, v] of pairs) {
          if (k === "") fail("a variable name is empty after expansion");
          st.vars.env.set(k, v);
          st.c = st.c.withEnvVariable(k, v, d);
        }
        return st;
      }
      case "LABEL":
        for (const p of ins.pairs) st.c = st.c.withLabel(x(p.key), x(p.value), d);
        return st;
      case "WORKDIR": {
        const w = x(ins.value);
        st.workdir = posix.resolve(st.workdir, w);
        st.c = st.c.withWorkdir(st.workdir, d);
        return st;
      }
      case "USER": {
        const u = x(ins.value);
        if (u === "") fail("the user is empty after expansion");
        st.c = st.c.withUser(u, d);
        return st;
      }
      case "STOPSIGNAL": {
        const s = x(ins.value);
        if (!/^(\d+|(SIG)?[A-Z][A-Z0-9+-]*)$/.test(s)) fail(`invalid signal "${s}" (use a name like SIGTERM or a number)`);
        st.c = st.c.withStopSignal(s, d);
        return st;
      }
      case "EXPOSE":
        for (const raw of ins.values) {
          const v = x(raw);
          const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(v);
          if (!m) fail(`invalid port "${v}" (use 80, 80/udp or 8000-8010/tcp)`);
          const proto = (m![3] ?? "tcp").toUpperCase();
          if (proto === "SCTP") fail(`SCTP ports are not supported ("${v}")`);
          const lo = Number(m![1]);
          const hi = m![2] !== undefined ? Number(m![2]) : lo;
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
        st.c = st.c.withDefaultArgs(this.commandArgs(st, ins.command), d);
        st.cmdSet = true;
        return st;
      case "ENTRYPOINT":
        st.c = st.c.withEntrypoint(this.commandArgs(st, ins.command), { keepDefaultArgs: st.cmdSet, description: ins.text });
        return st;
      case "HEALTHCHECK": {
        if (!ins.command) {
          st.c = st.c.withHealthcheck({ Test: ["NONE"] }, d);
          return st;
        }
        const Test = "exec" in ins.command ? ["CMD", ...ins.command.exec] : ["CMD-SHELL", ins.command.shell];
        const hc: Record<string, unknown> = { Test };
        if (ins.interval) hc.Interval = ins.interval;
        if (ins.timeout) hc.Timeout = ins.timeout;
        if (ins.startPeriod) hc.StartPeriod = ins.startPeriod;
        if (ins.startInterval) hc.StartInterval = ins.startInterval;
        if (ins.retries) hc.Retries = ins.retries;
        st.c = st.c.withHealthcheck(hc as { Test: string[] }, d);
        return st;
      }
      case "ONBUILD": {
        const m = /^(\S+)([\s\S]*)$/.exec(ins.trigger)!;
        st.c = st.c.withOnBuild(m[1]!.toUpperCase() + m[2]!, d);
        return st;
      }
      case "COPY":
      case "ADD": {
        let root: CopyRoot = { dir: this.in_.context, hostPath: this.in_.contextPath, label: "the build context" };
        if (ins.from !== undefined) root = await this.rootOf(x(ins.from), ins.line, st.platform);
        const chmod = ins.chmod !== undefined ? x(ins.chmod) : undefined;
        if (chmod !== undefined && !/^[0-7]{3,4}$/.test(chmod)) fail(`--chmod=${chmod} must be an octal mode such as 755 or 0644`);
        const dest = x(ins.dest);
        if (dest === "") fail("the destination is empty after expansion");
        const absDest = dest.startsWith("/") ? dest : posix.join(st.workdir, dest) + (dest.endsWith("/") || dest === "." ? "/" : "");
        const sources = ins.sources.map((s) => (/^\d*<<-?/.test(s) ? s : x(s)));
        st.c = await applyCopy(
          client,
          st.c,
          ins,
          { sources, dest: absDest, owner: ins.chown !== undefined ? x(ins.chown) : undefined, permissions: chmod !== undefined ? parseInt(chmod, 8) : undefined },
          root,
          st.vars.shellEnv(file, ins.line, ins.kind),
          file,
          esc,
        );
        return st;
      }
      case "RUN":
        return this.run(st, ins);
    }
  }

  private commandArgs(st: StageState, cmd: Command): string[] {
    return "exec" in cmd ? cmd.exec : [...st.shell, cmd.shell];
  }

  /** `--from=<stage|image>`: the root filesystem to copy or mount from. */
  private async rootOf(ref: string, line: number, platform: string): Promise<CopyRoot> {
    const s = this.findStage(ref, line);
    if (s) return { dir: (await this.stage(s.index, line)).c.rootfs(), label: `stage "${s.name ?? s.index}"` };
    return { dir: this.in_.client.container({ platform }).from(ref).rootfs(), label: `image "${ref}"` };
  }

  private async run(st: StageState, ins: Extract<Instruction, { kind: "RUN" }>): Promise<StageState> {
    const file = this.file;
    const x = (w: string) => st.vars.expand(w, file, ins.line, "RUN", this.in_.parsed.escape);
    const fail = (msg: string): never => {
      throw new ContainerfileError(file, ins.line, `RUN: ${msg}`);
    };
    let args: string[];
    let c = st.c;
    const undo: Array<(c: Container) => Container> = [];
    if ("exec" in ins.command) args = ins.command.exec;
    else if (ins.heredocs.length === 1 && /^\d*<<-?\S+$/.test(ins.command.shell.trim())) {
      // `RUN <<EOF` alone: the body is the script (BuildKit's "simple heredoc").
      const body = ins.heredocs[0]!.content;
      if (body.startsWith("#!")) {
        // A shebang script is written to a file and executed, as BuildKit does.
        const dir = this.in_.client.directory().withNewFile(ins.heredocs[0]!.name, body, { permissions: 0o755 });
        c = c.withMountedDirectory("/dev/pipes", dir, { readOnly: true });
        undo.push((k) => k.withoutMount("/dev/pipes"));
        args = [`/dev/pipes/${ins.heredocs[0]!.name}`];
      } else args = [...st.shell, body];
    } else {
      // Other heredoc uses are left to the shell, with the bodies appended as written.
      let script = ins.command.shell;
      for (const h of ins.heredocs) script += "\n" + h.content + h.name;
      args = [...st.shell, script];
    }
    for (const raw of ins.mounts) {
      let m;
      try {
        m = parseMount(x(raw));
      } catch (err) {
        if (err instanceof ContainerfileError) throw err;
        return fail((err as Error).message);
      }
      const owner = "uid" in m && (m.uid !== undefined || m.gid !== undefined) ? `${m.uid ?? "0"}:${m.gid ?? "0"}` : undefined;
      if (m.type === "cache") {
        const target = posix.resolve(st.workdir, m.target);
        const source = m.from !== undefined ? (await this.rootOf(m.from, ins.line, st.platform)).dir.directory(relativeInRoot(m.source ?? "/") || ".") : undefined;
        c = c.withMountedCache(target, this.in_.client.cacheVolume(m.id ?? target), { sharing: m.sharing, source, owner });
        undo.push((k) => k.withoutMount(target));
      } else if (m.type === "secret") {
        const id = m.id ?? (m.target ? posix.basename(m.target) : m.env!);
        const secret = this.in_.secrets[id];
        if (!secret) {
          if (m.required) fail(`secret "${id}" is required but was not given; pass it with --secret id=${id},src=<file> (or env=<VAR>)`);
          continue;
        }
        if (m.env) {
          c = c.withSecretVariable(m.env, secret);
          undo.push((k) => k.withoutSecretVariable(m.env!));
        }
        if (m.target || !m.env) {
          const target = m.target ? posix.resolve(st.workdir, m.target) : `/run/secrets/${id}`;
          c = c.withMountedSecret(target, secret, { mode: m.mode, owner });
          undo.push((k) => k.withoutMount(target));
        }
      } else if (m.type === "bind") {
        const target = posix.resolve(st.workdir, m.target);
        const rel = relativeInRoot(m.source);
        let isFile: boolean;
        let dir: Directory;
        if (m.from !== undefined) {
          dir = (await this.rootOf(m.from, ins.line, st.platform)).dir;
          isFile = rel !== "" && (await dir.exists(rel, { expectedType: "REGULAR" }));
        } else {
          dir = this.in_.context;
          isFile = rel !== "" && (await stat(join(this.in_.contextPath, rel)).then((s) => s.isFile(), () => false));
        }
        c = isFile ? c.withMountedFile(target, dir.file(rel)) : c.withMountedDirectory(target, rel ? dir.directory(rel) : dir, { readOnly: !m.readWrite });
        undo.push((k) => k.withoutMount(target));
      } else {
        const target = posix.resolve(st.workdir, m.target);
        c = c.withMountedTemp(target);
        undo.push((k) => k.withoutMount(target));
      }
    }
    // Build args are in the command's environment but not in the image (docker's rule).
    const runArgs = st.vars.runArgs();
    for (const [k, v] of runArgs) c = c.withEnvVariable(k, v);
    c = c.withExec(args, {
      network: ins.network === "none" ? "none" : ins.network === "host" ? "host" : undefined,
      insecureRootCapabilities: ins.security === "insecure",
      noCache: this.in_.noCache || undefined,
      description: ins.text,
    });
    for (const [k] of runArgs) c = c.withoutEnvVariable(k);
    for (const u of undo.reverse()) c = u(c);
    st.c = c;
    return st;
  }
}
