/** `lading init|functions|call|install|update`: build modules on the command line (frontends/modules). */
import { relative } from "node:path";
import { callModule, describeFunction, describeFunctions, parseChain, initModule, installDependency, openModule, renderResult, updateDependencies } from "../../frontends/modules/index.js";
import { openClient, type CommonOpts } from "../client.js";
import type { CliIO } from "../io.js";
import { createProgress, type ProgressMode } from "../progress.js";
import { readEnvConfig } from "../../env-config.js";

interface ModuleOpts extends CommonOpts {
  mod?: string;
  json?: boolean;
  progress?: ProgressMode;
}

export async function call(words: string[], opts: ModuleOpts, io: CliIO): Promise<void> {
  // `--json` may also close the chain (`lading call tags --version 1 --json`), as it reads naturally there.
  if (words.at(-1) === "--json") [words, opts] = [words.slice(0, -1), { ...opts, json: true }];
  const progress = await createProgress(opts.progress ?? "auto", io.stderr, readEnvConfig(io.env).debug);
  const client = await openClient(opts, io, progress.listener, {}, "lading call");
  try {
    const source = opts.mod ?? ".";
    const mod = await client.span(`load module ${source}`, () => openModule(client, source));
    const help = words.findIndex((w) => w === "--help" || w === "-h");
    if (help >= 0) {
      // Help on the function written last: its TSDoc and flags.
      const steps = parseChain(mod.schema, words.slice(0, help), { partial: true });
      progress.stop();
      io.stdout.write(steps.length ? describeFunction(steps.at(-1)!.fn).join("\n") + "\n" : describeFunctions(mod.schema));
      return;
    }
    const result = await callModule(client, mod, words);
    const text = await renderResult(mod, result, opts.json ?? false);
    progress.stop();
    io.stdout.write(text);
  } finally {
    progress.stop();
    await client.close();
  }
}

export async function functions(opts: ModuleOpts, io: CliIO): Promise<void> {
  const client = await openClient(opts, io, undefined, {}, "lading functions");
  try {
    const mod = await openModule(client, opts.mod ?? ".");
    io.stdout.write(opts.json ? JSON.stringify(mod.schema, null, 2) + "\n" : describeFunctions(mod.schema));
  } finally {
    await client.close();
  }
}

export async function init(dir: string, opts: { name?: string; entry?: string }, io: CliIO): Promise<void> {
  const written = await initModule(dir, opts);
  for (const f of written) io.stderr.write(`wrote ${relative(process.cwd(), `${dir}/${f}`) || f}\n`);
}

export async function install(source: string, opts: ModuleOpts & { name?: string }, io: CliIO): Promise<void> {
  const client = await openClient(opts, io, undefined, {}, "lading install");
  try {
    const dep = await installDependency(client, opts.mod ?? ".", source, opts.name);
    io.stdout.write(`${dep.name} ${dep.source} ${dep.pin}\n`);
  } finally {
    await client.close();
  }
}

export async function update(names: string[], opts: ModuleOpts, io: CliIO): Promise<void> {
  const client = await openClient(opts, io, undefined, {}, "lading update");
  try {
    for (const d of await updateDependencies(client, opts.mod ?? ".", names)) {
      io.stdout.write(`${d.name} ${d.source} ${d.pin}${d.was === d.pin ? " (unchanged)" : ` (was ${d.was})`}\n`);
    }
  } finally {
    await client.close();
  }
}
