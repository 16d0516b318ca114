import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { readFile } from "node:fs/promises";
import { relative } from "node:path";
import { ExecError, LadingError, type Container, type Secret } from "../../index.js";
import { buildContainerfile, lineOfError, parseContainerfile } from "../../frontends/containerfile/index.js";
import { openClient, type CommonOpts } from "../client.js";
import { keyValues, UsageError, type CliIO } from "../io.js";
import { parseOutput } from "../output-spec.js";
import { createProgress, type ProgressMode } from "../progress.js";
import { lockConnectOptions, lockPathFor, readLock, writeLock } from "../lockfile.js";

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
  cache: boolean; // commander's --no-cache
  pull: "always" | "missing" | "never";
  push?: boolean;
  lock: "auto" | "frozen" | "update" | "off";
  progress: ProgressMode;
}

export async function build(context: string, opts: BuildOptions, io: CliIO): Promise<void> {
  const ctx = resolve(context);
  if (!existsSync(ctx)) throw new UsageError(`build context ${ctx} does not exist`);
  const file = opts.file ? resolve(opts.file) : ["Containerfile", "Dockerfile"].map((f) => join(ctx, f)).find((f) => existsSync(f));
  if (!file) throw new UsageError(`no Containerfile or Dockerfile in ${ctx}; pass -f FILE`);
  if (opts.push && opts.tag.length === 0) throw new UsageError("--push needs at least one -t REF to push to");
  const outputs = opts.output.map(parseOutput);
  const buildArgs = keyValues(opts.buildArg, "--build-arg");
  const labels = keyValues(opts.label, "--label");
  const annotations = keyValues(opts.annotation, "--annotation");
  const lockPath = lockPathFor(file);
  const lock = opts.lock === "off" || opts.lock === "update" ? undefined : await readLock(lockPath);
  const lockOpts = lockConnectOptions(opts.lock, lock, lockPath);
  const progress = await createProgress(opts.progress, io.stderr, io.env.LADING_DEBUG === "1");
  const client = await openClient({ ...opts, noCache: !opts.cache, ...(lockOpts.pull ? { pull: lockOpts.pull } : {}) }, io, progress.listener, lockOpts, "lading build");
  try {
    const secrets: Record<string, Secret> = {};
    for (const spec of opts.secret) {
      const f = keyValues(spec.split(","), "--secret");
      if (!f.id) throw new UsageError(`--secret ${spec}: id= is required`);
      if (f.src) secrets[f.id] = await client.secretFromFile(f.id, f.src);
      else if (f.env) secrets[f.id] = client.secretFromEnv(f.id, f.env);
      else secrets[f.id] = client.secretFromEnv(f.id, f.id);
    }
    let image: Container = await buildContainerfile(client, {
      file,
      context: ctx,
      buildArgs,
      target: opts.target,
      platform: opts.platform,
      labels,
      secrets,
      noCache: !opts.cache,
      onWarning: (message) => progress.warn(message),
    });
    for (const [k, v] of Object.entries(annotations)) image = image.withAnnotation(k, v);
    const digest = await image.digest();
    if (await writeLock(lockPath, opts.lock, lock, client.sources())) io.stderr.write(`wrote ${lockPath}\n`);
    for (const out of outputs) {
      if (out.type === "oci-layout") await image.exportLayout(out.dest, { tag: out.name ?? opts.tag[0] ?? "latest" });
      else await image.export(out.dest, { mediaTypes: out.type === "docker" ? "Docker" : "OCI", tag: opts.tag[0] });
    }
    for (const t of opts.tag) await image.tag(t);
    if (opts.push) for (const t of opts.tag) io.stderr.write(`pushed ${await image.publish(t)}\n`);
    progress.stop();
    io.stdout.write(digest + "\n");
  } catch (err) {
    throw await locate(file, err);
  } finally {
    progress.stop();
    await client.close();
  }
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
