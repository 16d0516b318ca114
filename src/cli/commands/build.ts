import { existsSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { relative } from "node:path";
import { ExecError, isGitAddress, LadingError, type Container, type Directory, type Secret } from "../../index.js";
import { buildContainerfile, checkContainerfilePlatforms, gitSourceDirectory, lineOfError, parseContainerfile } from "../../frontends/containerfile/index.js";
import { openClient, type CommonOpts } from "../client.js";
import { keyValues, UsageError, type CliIO } from "../io.js";
import { parseOutput } from "../output-spec.js";
import { parseCacheSpec } from "../cache-spec.js";
import { parsePlatformList } from "../platforms.js";
import { createProgress, type ProgressMode } from "../progress.js";
import { lockConnectOptions, lockPathFor, readLock, writeLock } from "../lockfile.js";
import { readEnvConfig } from "../../env-config.js";

export interface BuildOptions extends CommonOpts {
  file?: string;
  tag: string[];
  buildArg: string[];
  target?: string;
  platform?: string;
  label: string[];
  annotation: string[];
  output: string[];
  secret: string[];
  buildContext: string[];
  cache: boolean; // commander's --no-cache
  cacheFrom?: string[];
  cacheTo?: string[];
  /** commander's --no-clamp-mtime; absent (true) leaves the choice to $LADING_CLAMP_MTIME. */
  clampMtime: boolean;
  pull: "always" | "missing" | "never";
  push?: boolean;
  lock: "auto" | "frozen" | "update" | "off";
  progress: ProgressMode;
}

export async function build(context: string, opts: BuildOptions, io: CliIO): Promise<void> {
  const fromGit = isGitAddress(context);
  const ctx = fromGit ? undefined : resolve(context);
  if (ctx && !existsSync(ctx)) throw new UsageError(`build context ${ctx} does not exist`);
  let file = ctx ? findContainerfile(ctx, opts.file) : undefined;
  if (opts.push && opts.tag.length === 0) throw new UsageError("--push needs at least one -t REF to push to");
  const outputs = opts.output.map(parseOutput);
  const cacheFrom = (opts.cacheFrom ?? []).map((s) => parseCacheSpec(s, "--cache-from").ref);
  const cacheTo = (opts.cacheTo ?? []).map((s) => parseCacheSpec(s, "--cache-to"));
  const platforms = opts.platform !== undefined ? parsePlatformList(opts.platform) : undefined;
  const buildArgs = keyValues(opts.buildArg, "--build-arg");
  const sourceDateEpoch = buildEpoch(buildArgs, readEnvConfig(io.env).sourceDateEpoch);
  const labels = keyValues(opts.label, "--label");
  const annotations = keyValues(opts.annotation, "--annotation");
  // A git context has no folder of the user's: its lock lives in the current directory (or beside a local -f file).
  const lockPath = file ? lockPathFor(file) : opts.file && isAbsolute(opts.file) ? lockPathFor(opts.file) : join(process.cwd(), "lading.lock");
  const lock = opts.lock === "off" || opts.lock === "update" ? undefined : await readLock(lockPath);
  const lockOpts = lockConnectOptions(opts.lock, lock, lockPath);
  const progress = await createProgress(opts.progress, io.stderr, readEnvConfig(io.env).debug, { showPlatform: (platforms?.length ?? 0) > 1 });
  const client = await openClient({ ...opts, noCache: !opts.cache, clampMtime: opts.clampMtime === false ? false : undefined, sourceDateEpoch, ...(lockOpts.pull ? { pull: lockOpts.pull } : {}) }, io, progress.listener, lockOpts, "lading build");
  let checkout: string | undefined;
  try {
    let contextDir = ctx;
    if (fromGit) {
      // The Containerfile frontend reads its context from the host (ignore files, link targets, archives): the commit's files are written out first.
      checkout = await mkdtemp(join(tmpdir(), "lading-git-context-"));
      contextDir = await gitSourceDirectory(client, context).export(join(checkout, "context"));
      // -f names a file of the repository (as docker reads it), unless it is an absolute host path.
      file = opts.file ? resolve(contextDir, opts.file) : findContainerfile(contextDir, undefined);
    }
    const contexts: Record<string, Directory> = {};
    for (const spec of opts.buildContext ?? []) {
      const eq = spec.indexOf("=");
      if (eq <= 0) throw new UsageError(`--build-context ${spec}: use NAME=DIR or NAME=<git url>`);
      const [name, value] = [spec.slice(0, eq), spec.slice(eq + 1)];
      if (isGitAddress(value)) contexts[name] = gitSourceDirectory(client, value);
      else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) throw new UsageError(`--build-context ${name}=${value}: lading takes a directory or a git repository here`);
      else if (!existsSync(value)) throw new UsageError(`--build-context ${name}: ${resolve(value)} does not exist`);
      else contexts[name] = client.host().directory(value);
    }
    const secrets: Record<string, Secret> = {};
    for (const spec of opts.secret) {
      const f = keyValues(spec.split(","), "--secret");
      if (!f.id) throw new UsageError(`--secret ${spec}: id= is required`);
      if (f.src) secrets[f.id] = await client.secretFromFile(f.id, f.src);
      else if (f.env) secrets[f.id] = client.secretFromEnv(f.id, f.env);
      else secrets[f.id] = client.secretFromEnv(f.id, f.id);
    }
    // One translation per platform (--platform a,b): every stage once per platform; steps that come out
    // the same for two platforms (a FROM --platform=$BUILDPLATFORM stage) have one key and run once.
    // Every platform's RUN steps must be runnable here (an emulator for the foreign ones): asked for all before any work.
    const common = { file: file!, context: contextDir!, contexts, buildArgs, target: opts.target };
    if (platforms) await checkContainerfilePlatforms(client, common, platforms);
    const warned = new Set<string>();
    const images: Container[] = [];
    for (const platform of platforms ?? [undefined]) {
      let one = await buildContainerfile(client, {
        file: file!,
        context: contextDir!,
        contexts,
        buildArgs,
        target: opts.target,
        platform,
        labels,
        secrets,
        noCache: !opts.cache,
        cacheFrom,
        onWarning: (message) => {
          if (!warned.has(message)) progress.warn(message);
          warned.add(message);
        },
      });
      for (const [k, v] of Object.entries(annotations)) one = one.withAnnotation(k, v);
      images.push(one);
    }
    // With several platforms every output (-o, --push, the store name) is one image index over them.
    const [image, ...platformVariants] = images as [Container, ...Container[]];
    const digest = await image.digest({ platformVariants });
    if (await writeLock(lockPath, opts.lock, lock, client.sources())) io.stderr.write(`wrote ${lockPath}\n`);
    for (const out of outputs) {
      if (out.type === "oci-layout") await image.exportLayout(out.dest, { tag: out.name ?? opts.tag[0] ?? "latest", platformVariants });
      else await image.export(out.dest, { mediaTypes: out.type === "docker" ? "Docker" : "OCI", tag: opts.tag[0], platformVariants });
    }
    for (const t of opts.tag) await image.tag(t, { platformVariants });
    if (opts.push) for (const t of opts.tag) io.stderr.write(`pushed ${await image.publish(t, { platformVariants })}\n`);
    for (const c of cacheTo) io.stderr.write(`exported cache ${await image.exportCache(c.ref, { mode: c.mode, platformVariants })}\n`);
    progress.stop();
    io.stdout.write(digest + "\n");
  } catch (err) {
    throw file ? await locate(file, err) : err;
  } finally {
    progress.stop();
    await client.close();
    if (checkout) await rm(checkout, { recursive: true, force: true });
  }
}

/** The build file: -f, else CONTEXT/Containerfile, else CONTEXT/Dockerfile. */
function findContainerfile(ctx: string, given: string | undefined): string {
  if (given) return resolve(given);
  const found = ["Containerfile", "Dockerfile"].map((f) => join(ctx, f)).find((f) => existsSync(f));
  if (!found) throw new UsageError(`no Containerfile or Dockerfile in ${ctx}; pass -f FILE`);
  return found;
}

/** Puts `Containerfile:LINE:` in front of an evaluation error (a failing RUN, a missing COPY source) when one instruction caused it. */
async function locate(file: string, err: unknown): Promise<unknown> {
  if (!(err instanceof LadingError) || err.code === "CONTAINERFILE" || err.code === "CANCELLED") return err;
  try {
    const line = lineOfError(parseContainerfile(await readFile(file, "utf8"), file), err);
    if (line === undefined) return err;
    const rel = relative(process.cwd(), file);
    const where = rel && !rel.startsWith("..") ? rel : file;
    // The same class with its fields (an ExecError keeps the command, exit code and output), located.
    if (err instanceof ExecError) return new ExecError(err.cmd, err.exitCode, err.stdout, err.stderr, `${where}:${line}${err.where ? ": " + err.where : ""}`, { cause: err });
    return new LadingError(err.code, `${where}:${line}: ${err.message}`, { cause: err });
  } catch {
    return err;
  }
}

/**
 * BuildKit's SOURCE_DATE_EPOCH: the build arg is the build's epoch (layer
 * mtimes, image dates), and a stage that declares `ARG SOURCE_DATE_EPOCH`
 * sees it in RUN; as buildx does, the environment's value is the build
 * arg's default. Fills `buildArgs` and returns the epoch for connect().
 */
function buildEpoch(buildArgs: Record<string, string>, fromEnv: string | undefined): number | undefined {
  if (buildArgs.SOURCE_DATE_EPOCH === undefined && fromEnv) buildArgs.SOURCE_DATE_EPOCH = fromEnv;
  const v = buildArgs.SOURCE_DATE_EPOCH;
  if (v === undefined || v === "") return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`SOURCE_DATE_EPOCH=${v}: give whole seconds since 1970 (e.g. $(git log -1 --pretty=%ct))`);
  return Number(v);
}
