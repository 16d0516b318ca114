/**
 * Translates parsed stages into Container API calls. Stages are built on
 * demand from the target (FROM <stage>, COPY --from, RUN --mount from=), so
 * only what the target needs is ever recorded. The API is lazy; what runs
 * here is only what docker's rules need to look at: base image configs,
 * source paths, and the stage's files so far for WORKDIR and for COPY of one
 * file to an existing directory. Independent stages stay independent
 * branches of the op graph, which the engine evaluates in parallel.
 */
import { posix } from "node:path";
import type { Container, Directory } from "../../index.js";
import { ContainerfileError, LadingError } from "../../errors.js";
import { applyConfigStep, type ConfigStepContext } from "./config-steps.js";
import { applyCopy } from "./copy.js";
import type { Instruction } from "./instructions.js";
import type { Stage } from "./parse.js";
import { applyRun } from "./run.js";
import { ensureDirectory, ensureWorkdir } from "./workdir.js";
import type { BuildInputs, CopyRoot, RootResolver, StageState } from "./state.js";
import { predefinedArgs, Vars, type EmptyArgListener } from "./vars.js";

/** BuildKit gives every Linux stage this PATH when its base image has none. */
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const DEFAULT_SHELL = ["/bin/sh", "-c"];

export class StageBuilder implements RootResolver {
  private readonly done = new Map<number, Promise<StageState>>();
  private readonly roots = new Map<number, Promise<Directory>>();
  /** Stages being translated, innermost last: a reference back into this chain is a cycle. */
  private readonly chain: number[] = [];
  private readonly globals: Vars;
  private readonly file: string;
  private readonly stepContext: ConfigStepContext;
  private readonly emptyArg: EmptyArgListener;

  constructor(private readonly in_: BuildInputs) {
    this.file = in_.parsed.file;
    const told = new Set<string>();
    this.emptyArg = (name, file, line, keyword) => {
      if (told.has(name)) return;
      told.add(name);
      in_.onWarning?.(`${file}:${line}: ${keyword}: build arg ${name} has no value (declared without a default and not given), so it expands to the empty string; pass --build-arg ${name}=… or declare ARG ${name}=<default>`);
    };
    const predefined = predefinedArgs(in_.platform, in_.buildPlatform);
    const g = new Vars(new Map(), new Map(predefined), this.emptyArg);
    for (const a of in_.parsed.globalArgs) {
      for (const { name, default: dflt } of a.args) {
        const given = in_.buildArgs[name];
        g.args.set(name, given ?? (dflt !== undefined ? g.expand(dflt, this.file, a.line, "ARG", in_.parsed.escape) : predefined.get(name)));
      }
    }
    this.globals = g;
    this.stepContext = { file: this.file, escape: in_.parsed.escape, buildArgs: in_.buildArgs, globals: g };
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

  /**
   * The platforms whose commands building `target` runs, each with its first RUN: the stages the target
   * reaches (FROM, COPY --from, RUN --mount from=) that have a RUN, on their platform. Read from the
   * file alone, so a build can say it cannot run them before it pulls or runs anything.
   */
  execPlatforms(target: Stage): Map<string, Instruction> {
    const { parsed } = this.in_;
    const out = new Map<string, Instruction>();
    const platformOf = new Map<number, string>();
    const expand = (w: string, line: number, kw: string) => {
      try {
        return this.globals.expand(w, this.file, line, kw, parsed.escape);
      } catch {
        return undefined; // translation reports it, at its line
      }
    };
    const stageNamed = (ref: string | undefined) => (ref === undefined ? undefined : parsed.stages.find((x) => x.name === ref.toLowerCase()) ?? (/^\d+$/.test(ref) ? parsed.stages[Number(ref)] : undefined));
    const visit = (s: Stage): string => {
      const known = platformOf.get(s.index);
      if (known !== undefined) return known;
      const base = stageNamed(expand(s.from.image, s.from.line, "FROM"));
      // As in base(): a stage built FROM another stage has that stage's platform.
      const platform = base && base.index < s.index ? visit(base) : (s.from.platform !== undefined ? expand(s.from.platform, s.from.line, "FROM") : undefined) ?? this.in_.platform;
      platformOf.set(s.index, platform);
      for (const ins of s.instructions) {
        if (ins.kind === "RUN" && !out.has(platform)) out.set(platform, ins);
        const refs = ins.kind === "COPY" ? [ins.from] : ins.kind === "RUN" ? ins.mounts.map((m) => /(?:^|,)from=([^,]+)/.exec(m)?.[1]) : [];
        for (const r of refs) {
          const other = stageNamed(r === undefined || !r.includes("$") ? r : expand(r, ins.line, ins.kind));
          if (other && !this.in_.contexts[other.name ?? ""]) visit(other);
        }
      }
      return platform;
    };
    visit(target);
    return out;
  }

  async build(stage: Stage): Promise<Container> {
    return (await this.stage(stage.index, stage.from.line)).c;
  }

  private stage(index: number, refLine: number): Promise<StageState> {
    if (this.chain.includes(index)) {
      const names = [...this.chain.slice(this.chain.indexOf(index)), index].map((i) => this.in_.parsed.stages[i]!.name ?? String(i));
      throw new ContainerfileError(this.file, refLine, `circular dependency between stages: ${names.join(" -> ")}`);
    }
    let p = this.done.get(index);
    if (!p) {
      this.chain.push(index);
      p = this.translate(this.in_.parsed.stages[index]!).finally(() => this.chain.splice(this.chain.indexOf(index), 1));
      this.done.set(index, p);
    }
    return p;
  }

  /** A stage named (or numbered) `ref`, or undefined when `ref` is an image. `before` limits FROM to earlier stages. */
  private findStage(ref: string, line: number, before?: number): Stage | undefined {
    const stages = this.in_.parsed.stages;
    const s = stages.find((x) => x.name === ref.toLowerCase()) ?? (/^\d+$/.test(ref) ? stages[Number(ref)] : undefined);
    if (s && before !== undefined && s.index >= before) {
      if (s.index === before) throw new ContainerfileError(this.file, line, `FROM: stage "${ref}" cannot build on itself`);
      throw new ContainerfileError(this.file, line, `FROM: stage "${ref}" is defined later (line ${s.from.line}); a stage can only build on stages defined before it`);
    }
    if (!s && /^\d+$/.test(ref)) throw new ContainerfileError(this.file, line, `stage ${ref} does not exist (the file has ${stages.length} stage${stages.length === 1 ? "" : "s"})`);
    return s;
  }

  /** `--from=<stage|image>`: the root filesystem to copy or mount from. */
  async rootOf(ref: string, line: number, platform: string): Promise<CopyRoot> {
    // A named context (`--build-context name=…`) comes before stages and images of that name, as in BuildKit.
    const named = this.in_.contexts[ref];
    if (named) return { dir: named, label: `build context "${ref}"` };
    const s = this.findStage(ref, line);
    if (s) return { dir: await this.rootfsOf(s.index, line), container: (await this.stage(s.index, line)).c, label: `stage "${s.name ?? s.index}"` };
    const image = this.in_.client.container({ platform }).from(ref);
    return { dir: image.rootfs(), container: image, label: `image "${ref}"` };
  }

  /** One Directory per stage root, so that every use (and the prefetch) shares one evaluation. */
  private rootfsOf(index: number, line: number): Promise<Directory> {
    let d = this.roots.get(index);
    if (!d) {
      d = this.stage(index, line).then((st) => st.c.rootfs());
      this.roots.set(index, d);
    }
    return d;
  }

  /**
   * Starts evaluating, in parallel, the stages this one copies or mounts
   * from (the literal `--from=` names): the COPY steps then find them built
   * instead of building them one after the other. Translation itself stays
   * sequential; failures surface where the stage is actually used.
   */
  private async prefetchSources(stage: Stage): Promise<void> {
    const refs = new Map<number, number>();
    for (const ins of stage.instructions) {
      const raw = ins.kind === "COPY" ? [ins.from] : ins.kind === "RUN" ? ins.mounts.map((m) => /(?:^|,)from=([^,]+)/.exec(m)?.[1]) : [];
      for (const r of raw) {
        if (r === undefined || r.includes("$")) continue;
        const s = this.in_.parsed.stages.find((x) => x.name === r.toLowerCase()) ?? (/^\d+$/.test(r) ? this.in_.parsed.stages[Number(r)] : undefined);
        if (s && s.index !== stage.index && !refs.has(s.index)) refs.set(s.index, ins.line);
      }
    }
    for (const [index, line] of refs) {
      let root: Directory;
      try {
        root = await this.rootfsOf(index, line);
      } catch {
        continue; // reported, with its line, when the instruction itself is translated
      }
      void root.entries().catch(() => undefined);
    }
  }

  private async translate(stage: Stage): Promise<StageState> {
    await this.prefetchSources(stage);
    let st = await this.located(stage.from, () => this.base(stage));
    for (const ins of stage.instructions) st = await this.located(ins, () => this.apply(st, ins));
    return st;
  }

  /** The state a stage starts from: scratch, an earlier stage, or an image (whose config is read for env, workdir and shell). */
  private async base(stage: Stage): Promise<StageState> {
    const { client, parsed } = this.in_;
    const from = stage.from;
    const image = this.globals.expand(from.image, this.file, from.line, "FROM", parsed.escape);
    const platform = from.platform !== undefined ? this.globals.expand(from.platform, this.file, from.line, "FROM", parsed.escape) : this.in_.platform;
    if (image === "") throw new ContainerfileError(this.file, from.line, `FROM: the image name "${from.image}" expands to nothing`);
    let st: StageState;
    const baseStage = this.findStage(image, from.line, stage.index);
    if (baseStage) {
      const b = await this.stage(baseStage.index, from.line);
      st = { ...b, vars: new Vars(new Map(b.vars.env), new Map(), this.emptyArg), cmdSet: false };
    } else if (image.toLowerCase() === "scratch") {
      st = { c: client.container({ platform }), vars: new Vars(new Map(), new Map(), this.emptyArg), workdir: "/", user: "", shell: DEFAULT_SHELL, cmdSet: false, onBuild: [], platform };
    } else {
      const c = client.container({ platform }).from(image, { description: from.text });
      const cfg = await this.located(from, () => c.imageConfig());
      const env = new Map<string, string>();
      for (const kv of cfg.Env ?? []) {
        const eq = kv.indexOf("=");
        if (eq > 0) env.set(kv.slice(0, eq), kv.slice(eq + 1));
      }
      st = { c, vars: new Vars(env, new Map(), this.emptyArg), workdir: cfg.WorkingDir || "/", user: cfg.User ?? "", shell: cfg.Shell?.length ? cfg.Shell : DEFAULT_SHELL, cmdSet: false, onBuild: cfg.OnBuild ?? [], platform };
    }
    if (st.onBuild.length) {
      // Docker runs these triggers here and drops them from the new image; the API cannot drop them yet,
      // and running them while keeping them would run them again in every later build.
      throw new ContainerfileError(
        this.file,
        from.line,
        `FROM ${image}: the base has ONBUILD triggers (${st.onBuild.join("; ")}), which lading does not run; copy those steps into this file and build FROM an image without triggers`,
      );
    }
    if (!st.vars.env.has("PATH")) {
      st.vars.env.set("PATH", DEFAULT_PATH);
      st.c = st.c.withEnvVariable("PATH", DEFAULT_PATH);
    }
    return st;
  }

  private async apply(st: StageState, ins: Instruction): Promise<StageState> {
    switch (ins.kind) {
      case "FROM":
        return st;
      case "RUN":
        return applyRun(st, ins, this.in_, this);
      case "WORKDIR":
        return ensureWorkdir(applyConfigStep(st, ins, this.stepContext), this.in_.client, ins.text);
      case "VOLUME": {
        st = applyConfigStep(st, ins, this.stepContext);
        const before = st.c;
        for (const raw of ins.values) {
          const path = posix.resolve(st.workdir, st.vars.expand(raw, this.file, ins.line, ins.kind, this.in_.parsed.escape));
          st = await ensureDirectory(st, this.in_.client, path, "0:0", ins.text, before);
        }
        return st;
      }
      case "COPY":
      case "ADD": {
        const x = (w: string) => st.vars.expand(w, this.file, ins.line, ins.kind, this.in_.parsed.escape);
        const root = ins.from !== undefined ? await this.rootOf(x(ins.from), ins.line, st.platform) : { dir: this.in_.context, hostPath: this.in_.contextPath, label: "the build context" };
        st.c = await applyCopy(this.in_.client, st, ins, root, this.stepContext);
        return st;
      }
      default:
        return applyConfigStep(st, ins, this.stepContext);
    }
  }

  /**
   * Runs one step, giving API refusals (bad owner, missing base image…) the
   * step's file and line; other errors (network, registry, auth) keep their code.
   */
  private async located<T>(ins: Instruction, f: () => Promise<T> | T): Promise<T> {
    try {
      return await f();
    } catch (err) {
      if (err instanceof LadingError && !(err instanceof ContainerfileError) && (err.code === "INVALID_ARGUMENT" || err.code === "NOT_FOUND")) {
        throw new ContainerfileError(this.file, ins.line, `${ins.text}: ${err.message}`, { cause: err });
      }
      throw err;
    }
  }
}
