/**
 * The Containerfile frontend: a Containerfile and its context → a lazy
 * Container, through the public API only.
 */
import { readFile, stat } from "node:fs/promises";
import { isAbsolute, relative, resolve } from "node:path";
import type { Client, Container, Directory, Secret } from "../../index.js";
import { ContainerfileError, LadingError } from "../../errors.js";
import { StageBuilder } from "./stages.js";
import { contextExcludes } from "./context.js";
import { parseContainerfile, type Stage } from "./parse.js";

export { parseContainerfile, linesOfStep, lineOfError, type ParsedContainerfile, type Stage, type ContainerfileWarning } from "./parse.js";
export type { Instruction, Command } from "./instructions.js";
export { gitSourceDirectory } from "./git-source.js";

export interface ContainerfileBuildOptions {
  /** Path of the Containerfile (read, and named in error messages). */
  file: string;
  /** The build context directory. */
  context: string;
  /** `--build-arg` values. */
  buildArgs?: Record<string, string>;
  /** The stage to build (default: the last). */
  target?: string;
  /** Target platform, like "linux/amd64" (default: this machine's). */
  platform?: string;
  /** `--label` values, applied to the final stage. */
  labels?: Record<string, string>;
  /** id → secret, for `RUN --mount=type=secret,id=…`. */
  secrets?: Record<string, Secret>;
  /** Run every RUN again instead of taking cached results. */
  noCache?: boolean;
  /**
   * Named contexts, as `--build-context name=…`: `COPY --from=name` and
   * `RUN --mount=from=name` read them (before any stage or image of that name).
   * @example { docs: client.git("https://host/docs.git").branch("main").tree() }
   */
  contexts?: Record<string, Directory>;
  /**
   * Registry build caches (`--cache-from type=registry,ref=…`) the build's
   * steps may be taken from, asked in this order (added to the client with
   * `client.importCache`). Write one with `Container.exportCache`.
   * @example { cacheFrom: ["registry.example.com/app:buildcache"] }
   */
  cacheFrom?: string[];
  /**
   * Takes what docker would warn about (`Containerfile:3: MAINTAINER is
   * deprecated …`, a build arg read with no value), each once; the CLI prints them on stderr. Without it they
   * are dropped (parseContainerfile's `warnings` has them too).
   */
  onWarning?: (message: string) => void;
}

/**
 * Builds the Container a Containerfile describes. The result is lazy; only
 * what docker's rules must look at is read while translating (base image
 * configs, source paths, and a stage's files before a WORKDIR or a COPY of
 * one file to an existing path). Parse and translation errors are thrown
 * here as ContainerfileError (`Containerfile:7: COPY: …`).
 * @example const c = await buildContainerfile(client, { file: "Containerfile", context: "." }); await c.export("img.tar");
 */
export async function buildContainerfile(client: Client, opts: ContainerfileBuildOptions): Promise<Container> {
  const { builder, target, name } = await prepare(client, opts);
  await checkEmulation(client, builder, target, name);
  let c = await builder.build(target);
  for (const [k, v] of Object.entries(opts.labels ?? {})) c = c.withLabel(k, v);
  return c;
}

/**
 * Checks, before anything is pulled or run, that this machine can run the RUN steps that building the
 * Containerfile for each of `platforms` would run (natively, or through an emulator registered with
 * binfmt_misc): a build for several platforms asks it for all of them before translating the first.
 * @throws LadingError `RUNTIME_UNAVAILABLE` (`Containerfile:7: RUN make: …`, saying what to install) for the first that cannot run.
 * @example await checkContainerfilePlatforms(client, { file: "Containerfile", context: "." }, ["linux/amd64", "linux/arm64"]);
 */
export async function checkContainerfilePlatforms(client: Client, opts: ContainerfileBuildOptions, platforms: string[]): Promise<void> {
  for (const platform of platforms) {
    const { builder, target, name } = await prepare(client, { ...opts, platform, onWarning: undefined });
    await checkEmulation(client, builder, target, name);
  }
}

/** Reads and parses the file, checks the context, and makes the stage builder and the target stage. */
async function prepare(client: Client, opts: ContainerfileBuildOptions): Promise<{ builder: StageBuilder; target: Stage; name: string }> {
  const file = resolve(opts.file);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new LadingError("NOT_FOUND", `cannot read the Containerfile ${opts.file}: ${(err as Error).message}`, { cause: err });
  }
  const name = displayName(opts.file);
  const parsed = parseContainerfile(text, name);
  for (const w of parsed.warnings) opts.onWarning?.(w.message);
  for (const ref of opts.cacheFrom ?? []) client.importCache(ref);
  const contextPath = resolve(opts.context);
  const ctxStat = await stat(contextPath).catch(() => undefined);
  if (!ctxStat) throw new LadingError("NOT_FOUND", `the build context ${opts.context} does not exist`);
  if (!ctxStat.isDirectory()) throw new LadingError("INVALID_ARGUMENT", `the build context ${opts.context} is not a directory`);
  const { patterns } = await contextExcludes(file, contextPath);
  const context = client.host().directory(contextPath, { exclude: patterns });
  const builder = new StageBuilder({
    client,
    parsed,
    context,
    contextPath,
    buildArgs: opts.buildArgs ?? {},
    platform: opts.platform ?? client.defaultPlatform(),
    buildPlatform: client.defaultPlatform(),
    secrets: opts.secrets ?? {},
    noCache: opts.noCache ?? false,
    onWarning: opts.onWarning,
    contexts: opts.contexts ?? {},
  });
  return { builder, target: builder.targetStage(opts.target), name };
}

/** RUN for a platform this machine cannot run (no emulator registered): said before any pull or step, at that RUN's line. */
async function checkEmulation(client: Client, builder: StageBuilder, target: Stage, name: string): Promise<void> {
  for (const [platform, run] of builder.execPlatforms(target)) {
    try {
      await client.emulatorFor(platform);
    } catch (err) {
      // A platform that cannot be parsed is reported by the translation, at its FROM line.
      if (err instanceof LadingError && err.code === "INVALID_ARGUMENT") continue;
      if (err instanceof LadingError) throw new LadingError(err.code, `${name}:${run.line}: ${run.text}: ${err.message}`, { cause: err });
      throw err;
    }
  }
}

/** The file as messages name it: relative to the working directory when it lies below it (`Containerfile:7: …`), else as given. */
function displayName(file: string): string {
  if (!isAbsolute(file)) return file;
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : file;
}

export { ContainerfileError };
