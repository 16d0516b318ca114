/**
 * What a call can chain onto the API values a module function returns, as
 * Dagger's CLI does (`… export --path app.tar`, `… file --path /x contents`):
 * a table per type, each entry spelt like a module function, so parsing,
 * help and errors treat both alike.
 */
import type { Container, Directory, File, PortForward, Secret, Service } from "../../index.js";
import { LadingError } from "../../index.js";
import type { ArgSchema, CoreTypeName, FunctionSchema, TypeRef } from "./schema.js";

export interface CoreFunction extends Omit<FunctionSchema, "file" | "line"> {
  run(self: never, args: Record<string, never>): unknown;
}

const S = { kind: "string" } as const;
const N = { kind: "number" } as const;
const B = { kind: "boolean" } as const;
const core = (name: CoreTypeName): TypeRef => ({ kind: "core", name });
const arg = (name: string, type: TypeRef, doc: string, optional = false): ArgSchema => ({ name, type, optional, doc });

function fn<Self, A extends Record<string, unknown>>(name: string, doc: string, args: ArgSchema[], returns: TypeRef, run: (self: Self, a: A) => unknown): CoreFunction {
  return { name, doc, args, returns, run: run as CoreFunction["run"] };
}

const container: CoreFunction[] = [
  fn<Container, { args: string[] }>("withExec", "Runs a command in the container.", [arg("args", { kind: "array", of: S }, "The command and its arguments (comma-separated or repeated).")], core("Container"), (c, a) => c.withExec(a.args)),
  fn<Container, { name: string; value: string }>("withEnvVariable", "Sets an environment variable.", [arg("name", S, "Its name."), arg("value", S, "Its value.")], core("Container"), (c, a) => c.withEnvVariable(a.name, a.value)),
  fn<Container, { path: string }>("withWorkdir", "Sets the working directory.", [arg("path", S, "The directory.")], core("Container"), (c, a) => c.withWorkdir(a.path)),
  fn<Container, { path: string; directory: Directory }>("withDirectory", "Copies a directory in.", [arg("path", S, "Where."), arg("directory", core("Directory"), "What.")], core("Container"), (c, a) => c.withDirectory(a.path, a.directory)),
  fn<Container, { path: string; contents: string }>("withNewFile", "Writes a file.", [arg("path", S, "Where."), arg("contents", S, "Its contents.")], core("Container"), (c, a) => c.withNewFile(a.path, a.contents)),
  fn<Container, Record<string, never>>("stdout", "The last command's standard output.", [], S, (c) => c.stdout()),
  fn<Container, Record<string, never>>("stderr", "The last command's standard error.", [], S, (c) => c.stderr()),
  fn<Container, Record<string, never>>("exitCode", "The last command's exit code.", [], N, (c) => c.exitCode()),
  fn<Container, Record<string, never>>("digest", "The image manifest digest.", [], S, (c) => c.digest()),
  fn<Container, { path: string }>("export", "Writes the image as an OCI tarball; prints its path.", [arg("path", S, "The tarball's path on the host.")], S, (c, a) => c.export(a.path)),
  fn<Container, { address: string }>("publish", "Pushes the image; prints the pushed reference with its digest.", [arg("address", S, "The registry reference.")], S, (c, a) => c.publish(a.address)),
  fn<Container, { name: string }>("tag", "Names the image in the store.", [arg("name", S, "The name.")], S, (c, a) => c.tag(a.name)),
  fn<Container, { path: string }>("file", "A file of the container.", [arg("path", S, "Its path.")], core("File"), (c, a) => c.file(a.path)),
  fn<Container, { path: string }>("directory", "A directory of the container.", [arg("path", S, "Its path.")], core("Directory"), (c, a) => c.directory(a.path)),
  fn<Container, Record<string, never>>("rootfs", "The container's root filesystem.", [], core("Directory"), (c) => c.rootfs()),
  fn<Container, { name: string }>("envVariable", "An environment variable's value.", [arg("name", S, "Its name.")], S, (c, a) => c.envVariable(a.name)),
  fn<Container, Record<string, never>>("sync", "Evaluates the container.", [], core("Container"), (c) => c.sync()),
  fn<Container, { port: number }>("withExposedPort", "Exposes a TCP port (a service is healthy once each accepts connections).", [arg("port", N, "The port.")], core("Container"), (c, a) => c.withExposedPort(a.port)),
  fn<Container, { alias: string; service: Service }>("withServiceBinding", "Makes a service reachable from this container's commands by an alias.", [arg("alias", S, "The hostname the commands use."), arg("service", core("Service"), "The service (tcp://localhost:PORT for a port of this machine).")], core("Container"), (c, a) => c.withServiceBinding(a.alias, a.service)),
  fn<Container, { args?: string[]; useEntrypoint?: boolean }>("asService", "The container as a service: its command keeps running, reached by hostname.", [arg("args", { kind: "array", of: S }, "The command (default: the image's).", true), arg("useEntrypoint", B, "Run the command through the image's entrypoint.", true)], core("Service"), (c, a) => c.asService({ ...(a.args?.length ? { args: a.args } : {}), ...(a.useEntrypoint ? { useEntrypoint: true } : {}) })),
];

const directory: CoreFunction[] = [
  fn<Directory, Record<string, never>>("digest", "The directory's content key.", [], S, (d) => d.digest()),
  fn<Directory, { path: string }>("export", "Writes the directory to the host; prints its path.", [arg("path", S, "Where (must not exist, or be empty).")], S, (d, a) => d.export(a.path)),
  fn<Directory, Record<string, never>>("entries", "The names at the top of the directory.", [], { kind: "array", of: S }, (d) => d.entries()),
  fn<Directory, { pattern: string }>("glob", "Paths matching a pattern.", [arg("pattern", S, "The pattern (`**/*.ts`).")], { kind: "array", of: S }, (d, a) => d.glob(a.pattern)),
  fn<Directory, { path: string }>("file", "A file of the directory.", [arg("path", S, "Its path.")], core("File"), (d, a) => d.file(a.path)),
  fn<Directory, { path: string }>("directory", "A sub-directory.", [arg("path", S, "Its path.")], core("Directory"), (d, a) => d.directory(a.path)),
  fn<Directory, { path: string; contents: string }>("withNewFile", "Adds a file.", [arg("path", S, "Where."), arg("contents", S, "Its contents.")], core("Directory"), (d, a) => d.withNewFile(a.path, a.contents)),
];

const file: CoreFunction[] = [
  fn<File, Record<string, never>>("contents", "The file's contents.", [], S, (f) => f.contents()),
  fn<File, Record<string, never>>("digest", "The file's content digest.", [], S, (f) => f.digest()),
  fn<File, Record<string, never>>("size", "The file's size in bytes.", [], N, (f) => f.size()),
  fn<File, Record<string, never>>("name", "The file's name.", [], S, (f) => f.name()),
  fn<File, { path: string }>("export", "Writes the file to the host; prints its path.", [arg("path", S, "Where.")], S, (f, a) => f.export(a.path)),
];

/** `8080:80` (this machine's 8080 to the service's 80) or `80` (the same number on both sides). */
function portForward(text: string): PortForward {
  const m = /^(\d+)(?::(\d+))?$/.exec(text.trim());
  if (!m) throw new LadingError("INVALID_ARGUMENT", `up --ports ${text}: write FRONTEND:BACKEND (8080:80) or one port`);
  return { frontend: Number(m[1]), backend: Number(m[2] ?? m[1]) };
}

/** Until Ctrl-C (SIGINT) or SIGTERM: what `up` waits for, as `dagger call … up` does. */
function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off("SIGINT", done);
      process.off("SIGTERM", done);
      resolve();
    };
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
}

const service: CoreFunction[] = [
  fn<Service, { ports?: string[]; random?: boolean }>(
    "up",
    "Starts the service and forwards ports of 127.0.0.1 to it until Ctrl-C; prints each forward.",
    [arg("ports", { kind: "array", of: S }, "FRONTEND:BACKEND pairs (default: each exposed port to the same number).", true), arg("random", B, "Forward from free ports instead.", true)],
    { kind: "array", of: S },
    async (svc, a) => {
      const forwards = await svc.up({ ...(a.ports?.length ? { ports: a.ports.map(portForward) } : {}), ...(a.random ? { random: true } : {}) });
      const shown = forwards.map((f) => `127.0.0.1:${f.frontend} -> ${f.backend}`);
      // Said before the wait, where a user (or a script) can read where to connect.
      process.stderr.write(shown.map((l) => `forwarding ${l}\n`).join("") + "press Ctrl-C to stop\n");
      await untilInterrupted();
      return shown;
    },
  ),
  fn<Service, { port?: number; scheme?: string }>("endpoint", "Starts the service; its address from this machine (forwarded).", [arg("port", N, "Which exposed port (default: the first).", true), arg("scheme", S, "A URL scheme to put in front (http).", true)], S, (svc, a) => svc.endpoint({ ...(a.port !== undefined ? { port: a.port } : {}), ...(a.scheme ? { scheme: a.scheme } : {}) })),
  fn<Service, Record<string, never>>("hostname", "The service's hostname in the session.", [], S, (svc) => svc.hostname()),
];

const secret: CoreFunction[] = [fn<Secret, Record<string, never>>("name", "The secret's name (never its value).", [], S, (s) => s.name())];

export const CORE_FUNCTIONS: Record<CoreTypeName, CoreFunction[]> = { Container: container, Directory: directory, File: file, Secret: secret, CacheVolume: [], Service: service };
