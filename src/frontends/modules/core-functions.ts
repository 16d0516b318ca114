/**
 * What a call can chain onto the API values a module function returns, as
 * Dagger's CLI does (`… export --path app.tar`, `… file --path /x contents`):
 * a table per type, each entry spelt like a module function, so parsing,
 * help and errors treat both alike.
 */
import type { Container, Directory, File, Secret } from "../../index.js";
import type { ArgSchema, CoreTypeName, FunctionSchema, TypeRef } from "./schema.js";

export interface CoreFunction extends Omit<FunctionSchema, "file" | "line"> {
  run(self: never, args: Record<string, never>): unknown;
}

const S = { kind: "string" } as const;
const N = { kind: "number" } as const;
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

const secret: CoreFunction[] = [fn<Secret, Record<string, never>>("name", "The secret's name (never its value).", [], S, (s) => s.name())];

export const CORE_FUNCTIONS: Record<CoreTypeName, CoreFunction[]> = { Container: container, Directory: directory, File: file, Secret: secret, CacheVolume: [] };
