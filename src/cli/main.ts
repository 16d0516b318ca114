/**
 * The `lading` command. Only this file calls process.exit; commands are
 * loaded on demand so `lading --version` stays fast. bin/lading.js runs it
 * from the bundle (dist/lading-cli.cjs, see scripts/bundle-cli.mjs) when
 * there is one, else from dist/src: both call runCli().
 */
import { Command, CommanderError, Option } from "commander";
import { createRequire } from "node:module";
import { collect, type CliIO } from "./io.js";
import { LadingError } from "../errors.js";
import { EXIT, reportError } from "./report.js";
import { readEnvConfig } from "../env-config.js";

const require = createRequire(import.meta.url);
const { version } = require("../../../package.json") as { version: string };

const controller = new AbortController();
const io: CliIO = { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: controller.signal };
let interrupted = 0;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    interrupted++;
    controller.abort(new LadingError("CANCELLED", `interrupted by ${sig}`));
    // A second signal means "now": cleanup already had its chance.
    if (interrupted > 1) process.exit(EXIT.interrupted);
  });
}

const storeOption = () => new Option("--store <dir>", "store folder (default: $LADING_HOME or ~/.local/share/lading)");
const traceFileOption = () => new Option("--trace-file <file>", "write the trace: FILE.html (one page, opens offline) or FILE.json (OTLP/JSON)");
const noTracePropagateOption = () => new Option("--no-trace-propagate", "do not set $TRACEPARENT inside RUN steps");
const progressOption = () => new Option("--progress <mode>", "progress output").choices(["auto", "tty", "plain", "json", "quiet"]).default("auto");
const insecureRegistryOption = () => new Option("--insecure-registry <host>", "use plain HTTP for this registry (repeatable)").argParser(collect).default([]);

/** What a command that runs steps takes (build, call): the runtime, registries, tracing, progress and the store. */
function withRunOptions(command: Command): Command {
  return command
    .option("--runtime <name>", "runc, crun or podman")
    .addOption(insecureRegistryOption())
    .addOption(traceFileOption())
    .addOption(noTracePropagateOption())
    .addOption(progressOption())
    .addOption(storeOption());
}

const program = new Command("lading")
  .description("Build, export and push OCI images: rootless, daemonless.")
  .version(version, "-v, --version")
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride()
  // `lading call FN --flag` hands FN's flags to the module, not to lading.
  .enablePositionalOptions();

withRunOptions(
  program
    .command("build")
    .description("Build an image from a Containerfile (or Dockerfile)")
    .argument("[context]", "build context: a directory, or a git repository (https://host/repo.git#ref:subdir, git@host:repo.git#ref)", ".")
    .option("-f, --file <path>", "Containerfile to build (default: CONTEXT/Containerfile, else CONTEXT/Dockerfile)")
    .option("-t, --tag <ref>", "name the result (repeatable): in the store, the tarball and for --push", collect, [])
    .option("--build-arg <k=v>", "set a build argument (repeatable)", collect, [])
    .option("--target <stage>", "build this stage")
    .option("--platform <os/arch[,…]>", "target platform; several (linux/amd64,linux/arm64) build one image index")
    .option("--label <k=v>", "add a label (repeatable)", collect, [])
    .option("--annotation <k=v>", "add a manifest annotation (repeatable)", collect, [])
    .option("-o, --output <dest>", "img.tar, type=oci|docker,dest=FILE, or type=oci-layout,dest=DIR[,name=TAG] (repeatable)", collect, [])
    .option("--secret <spec>", "id=ID,src=FILE or id=ID,env=VAR, for RUN --mount=type=secret (repeatable)", collect, [])
    .option("--build-context <name=dir|git url>", "a named context for COPY --from=NAME and RUN --mount=from=NAME (repeatable)", collect, [])
    .option("--no-cache", "run every step, ignoring cached results")
    .option("--cache-from <spec>", "type=registry,ref=REG/REPO:TAG: take step results from this registry build cache (repeatable)", collect, [])
    .option("--cache-to <spec>", "type=registry,ref=REG/REPO:TAG[,mode=min|max]: push the build cache there after the build (repeatable)", collect, [])
    .option("--no-clamp-mtime", "keep files' real mtimes in layers (default: clamped to $SOURCE_DATE_EPOCH, else 0, for reproducible digests)")
    .addOption(new Option("--pull <policy>", "when to contact registries for FROM images").choices(["always", "missing", "never"]).default("missing"))
    .option("--push", "push the result to every -t reference")
    .addOption(new Option("--lock <mode>", "lading.lock handling").choices(["auto", "frozen", "update", "off"]).default("auto")),
)
  .addHelpText("after", "\nExamples:\n  lading build -t myapp:1.0 -o myapp.tar .\n  lading build -f Containerfile --build-arg VERSION=2 --target runtime -o type=docker,dest=img.tar .\n  lading build -o app.tar https://git.example.com/team/app.git#main:docker")
  .action(async (context: string, opts) => (await import("./commands/build.js")).build(context, opts, io));

program
  .command("inspect")
  .description("Show an image's manifest, config, layers and annotations")
  .argument("<source>", "a store name, oci:DIR[:TAG], oci-archive:FILE[:TAG], or a registry reference")
  .option("--raw", "print the manifest exactly as stored")
  .option("--config", "print the image config exactly as stored")
  .option("--platform <os/arch>", "platform to pick from an index")
  .addOption(insecureRegistryOption())
  .addOption(storeOption())
  .action(async (source: string, opts) => (await import("./commands/inspect.js")).inspect(source, opts, io));

program
  .command("images")
  .description("List the images the store holds by name")
  .option("--json", "one JSON object per line")
  .addOption(storeOption())
  .action(async (opts) => (await import("./commands/images.js")).images(opts, io));

program
  .command("rmi")
  .description("Remove image names from the store (blobs are freed by prune)")
  .argument("<names...>")
  .addOption(storeOption())
  .action(async (names: string[], opts) => (await import("./commands/images.js")).rmi(names, opts, io));

program
  .command("pull")
  .description("Pull an image into the store (and optionally write it out)")
  .argument("<ref>", "registry reference")
  .option("-o, --output <dest>", "also write it: img.tar, type=oci|docker,dest=FILE, type=oci-layout,dest=DIR")
  .option("--platform <os/arch>", "platform to pick from an index")
  .addOption(insecureRegistryOption())
  .addOption(traceFileOption())
  .addOption(progressOption())
  .addOption(storeOption())
  .action(async (ref: string, opts) => (await import("./commands/transfer.js")).pull(ref, opts, io));

program
  .command("push")
  .description("Push an image to a registry")
  .argument("<source>", "a store name, oci:DIR[:TAG] or oci-archive:FILE[:TAG]")
  .argument("[ref]", "destination reference (default: SOURCE when it is a registry name)")
  .addOption(insecureRegistryOption())
  .addOption(new Option("--format <type>", "media types to push").choices(["oci", "docker"]))
  .addOption(traceFileOption())
  .addOption(progressOption())
  .addOption(storeOption())
  .action(async (source: string, ref: string | undefined, opts) => (await import("./commands/transfer.js")).push(source, ref, opts, io));

program
  .command("login")
  .description("Store credentials for a registry (like docker login)")
  .argument("<registry>")
  .option("-u, --username <user>")
  .option("-p, --password <password>", "prefer --password-stdin")
  .option("--password-stdin", "read the password from standard input")
  .addOption(insecureRegistryOption())
  .action(async (registry: string, opts) => (await import("./commands/login.js")).login(registry, opts, io));

program
  .command("logout")
  .description("Remove stored credentials for a registry")
  .argument("<registry>")
  .action(async (registry: string) => (await import("./commands/login.js")).logout(registry, io));

program
  .command("df")
  .description("Show the store's disk usage by kind, what prune would reclaim, and the disk policy")
  .option("--json", "one JSON object")
  .addOption(storeOption())
  .action(async (opts) => (await import("./commands/store.js")).df(opts, io));

program
  .command("prune")
  .description("Free cached results, snapshots, cache volumes and unnamed blobs (least recently used first)")
  .option("-a, --all", "also remove every named image")
  .option("--keep-storage <size>", "keep this much (e.g. 10GB), freeing the least recently used beyond it")
  .option("--filter <filter>", "only what was unused for a while: until=24h (repeatable)", collect, [])
  .option("--json", "one JSON object")
  .addOption(storeOption())
  .action(async (opts) => (await import("./commands/store.js")).prune(opts, io));

program
  .command("fsck")
  .description("Verify every blob, image reference, cached result and snapshot in the store (exit 1 on problems)")
  .option("--repair", "remove what is broken so the next build refetches or rebuilds it")
  .option("--json", "one JSON object")
  .addOption(storeOption())
  .action(async (opts) => (await import("./commands/store.js")).fsck(opts, io));

const moduleOption = () => new Option("-m, --mod <module>", "the module: a folder with lading.json, or a git URL (https://host/repo.git#ref:subdir); default: .");

withRunOptions(
  program
    .command("call")
    .description("Call a build module's function, then functions on what it returns (chaining)")
    .argument("[function...]", "FUNCTION [--arg value]… [CHAINED-FUNCTION [--arg value]…]…")
    .addOption(moduleOption())
    .option("--json", "print the result as JSON"),
)
  .passThroughOptions()
  .addHelpText("after", "\nExamples:\n  lading call build --src . export --path app.tar\n  lading call -m ./ci test --node-version 20 stdout\n  lading call build --src . publish --address 127.0.0.1:5000/app:1\n  lading call deploy --token env:DEPLOY_TOKEN")
  .action(async (words: string[], opts) => (await import("./commands/modules.js")).call(words, opts, io));

program
  .command("functions")
  .description("List a build module's functions with their docs and arguments")
  .addOption(moduleOption())
  .option("--json", "the module's schema as JSON")
  .addOption(storeOption())
  .action(async (opts) => (await import("./commands/modules.js")).functions(opts, io));

program
  .command("init")
  .description("Make a build module: lading.json, a starter entry and tsconfig.json paths")
  .argument("[dir]", "the module's folder", ".")
  .option("--name <name>", "the module's name (default: the folder's)")
  .option("--entry <path>", "the entry file (default: index.ts)")
  .action(async (dir: string, opts) => (await import("./commands/modules.js")).init(dir, opts, io));

program
  .command("install")
  .description("Add a dependency module from git, pinned to the commit its source names now")
  .argument("<source>", "a git URL (https://host/tools.git#main:subdir), kept as given")
  .option("--name <name>", "the name to import it by (lading:NAME); default: the repository's")
  .addOption(moduleOption())
  .addOption(storeOption())
  .action(async (source: string, opts) => (await import("./commands/modules.js")).install(source, opts, io));

program
  .command("update")
  .description("Move dependency pins to the commits their sources name now")
  .argument("[names...]", "the dependencies to update (default: all)")
  .addOption(moduleOption())
  .addOption(storeOption())
  .action(async (names: string[], opts) => (await import("./commands/modules.js")).update(names, opts, io));

const traceCommand = program.command("trace").description("Look at trace files (from --trace-file)");
traceCommand
  .command("view")
  .description("Serve a trace file (.html or OTLP .json) on 127.0.0.1 to open in a browser; Ctrl-C stops")
  .argument("<file>", "a trace file written by --trace-file, or any OTLP/JSON trace")
  .option("--port <n>", "port to listen on (default: any free one)", "0")
  .action(async (file: string, opts) => (await import("./commands/trace.js")).viewTrace(file, opts, io));

async function main(argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    return report(err);
  }
}

function report(err: unknown): number {
  if (err instanceof CommanderError) {
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") return 0;
    return 2; // commander already printed the message
  }
  if (controller.signal.aborted) {
    io.stderr.write("lading: interrupted\n");
    return EXIT.interrupted;
  }
  return reportError(err, io.stderr, readEnvConfig(io.env).debug);
}

/** Runs the command line `argv` (process.argv's shape) and exits with its code. */
export async function runCli(argv: string[] = process.argv): Promise<never> {
  process.exit(await main(argv));
}
